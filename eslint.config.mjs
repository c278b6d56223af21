import * as effectEslint from "@effect/eslint-plugin"
import eslint from "@eslint/js"
import tseslint from "typescript-eslint"

export default tseslint.config(
  { ignores: ["**/build/**", "**/node_modules/**", "**/*.mjs", "**/*.js"] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  ...effectEslint.configs.dprint,
  {
    rules: {
      "@effect/dprint": ["error", {
        config: {
          indentWidth: 2,
          lineWidth: 120,
          semiColons: "asi",
          quoteStyle: "alwaysDouble",
          trailingCommas: "never",
          operatorPosition: "maintain",
          "arrowFunction.useParentheses": "force"
        }
      }],
      "@typescript-eslint/array-type": ["warn", { default: "generic", readonly: "generic" }],
      "@typescript-eslint/consistent-type-imports": "warn",
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-empty-object-type": "off",
      "@typescript-eslint/no-namespace": "off",
      "no-constant-condition": "off"
    }
  },
  ...boundaries()
)

/**
 * Who may import whom (docs/architecture.md, "Layout"). ESLint applies one `no-restricted-imports` per file (the
 * last matching block wins), so each block below carries the barrel rule as well as its own patterns.
 *
 * - The barrels of @effect/platform, platform-node, cli and sql load every module of their package (platform's
 *   includes the Swagger and Scalar UI bundles, about 30 MB of a long-running scheduler's memory): import the
 *   module itself.
 * - The domain is pure: no I/O package, no other live plexsync package (only the test-support one, in tests).
 * - The two programs share @plexsync/runtime and never import each other.
 */
function boundaries() {
  const barrels = ["@effect/platform", "@effect/platform-node", "@effect/cli", "@effect/sql"].map((name) => ({
    name,
    message: `import the module itself (import * as X from "${name}/X"): the package index loads every module it has`
  }))
  const rule = (patterns) => ({ "no-restricted-imports": ["error", { paths: barrels, patterns }] })
  const app = (name) => ({
    group: [`@plexsync/${name}`, `@plexsync/${name}/*`, `**/apps/${name}/**`],
    message: `the programs share @plexsync/runtime and never import each other: move what both need there`
  })
  return [
    { files: ["packages/*/src/**/*.ts", "apps/*/src/**/*.ts"], rules: rule([]) },
    {
      files: ["packages/domain/src/**/*.ts"],
      rules: rule([{
        group: [
          "@plexsync/*",
          "!@plexsync/domain",
          "!@plexsync/domain/*",
          "@effect/sql",
          "@effect/sql/*",
          "@effect/sql-*",
          "@effect/platform",
          "@effect/platform/*",
          "@effect/platform-*"
        ],
        message: "the domain is pure: its services are interfaces, implemented by the sqlite, plex and stash packages"
      }])
    },
    { files: ["apps/cli/**/*.ts"], rules: rule([app("scheduler"), app("demo")]) },
    { files: ["apps/scheduler/**/*.ts"], rules: rule([app("cli"), app("demo")]) }
  ]
}
