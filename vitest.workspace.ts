// The quick variant of the chaos suite runs with every package's tests; `pnpm chaos` runs the full one.
export default ["packages/*/vitest.config.ts", "apps/*/vitest.config.ts", "chaos/vitest.quick.config.ts"]
