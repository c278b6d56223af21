#!/usr/bin/env python3
"""Forwards Stash's plugin input to a running plexsync-scheduler (POST /hooks/stash).

For Stash hosts without Node.js, such as the official Stash container: it needs only Python 3's standard
library. It reads the plugin input on stdin, posts it to the scheduler (with `Authorization: Bearer <secret>`
when a secret is configured), and prints the scheduler's one-object JSON reply on stdout. Whatever happens it
prints exactly one JSON object and exits 0, so Stash shows any error; the scheduler's change feed catches
every change even when a hook cannot be delivered. Stash waits for it on every save, so the whole run is bounded
(RUN_BUDGET_SECONDS): a scheduler host that does not answer costs the save about two seconds and one line in
Stash's log, never more.

Where the scheduler is, in this order:
  1. the environment of the Stash process: PLEXSYNC_HOOK_URL, PLEXSYNC_WEBHOOK_SECRET;
  2. the plugin's settings in Stash (Settings > Plugins > plexsync-forward): Scheduler URL, Webhook secret;
  3. http://127.0.0.1:8765.
"""

import json
import os
import re
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

PLUGIN_ID = os.path.splitext(os.path.basename(__file__))[0].replace("_", "-")
DEFAULT_URL = "http://127.0.0.1:8765"
# The whole run, settings lookup and POST together; the settings lookup (Stash itself, on this host) gets less.
RUN_BUDGET_SECONDS = 2.0
SETTINGS_TIMEOUT_SECONDS = 0.75
STARTED = time.monotonic()
# Where the hook goes, once known (for the watchdog's message).
TARGET = []
SECRET_PARAM = re.compile(
    r"(?<![a-z0-9_-])(x-plex-token|token|apikey|api_key|api-key|access_token|password|secret)(=|%3d)[^&;/#?\s]*",
    re.IGNORECASE,
)


def remaining():
    return max(0.05, RUN_BUDGET_SECONDS - (time.monotonic() - STARTED))


def shown_url(url):
    """A URL as messages show it: no user name or password, no secret-looking parameter values."""
    try:
        parts = urllib.parse.urlsplit(url)
        netloc = parts.netloc.rsplit("@", 1)[-1]
        url = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    except ValueError:
        url = re.sub(r"^([a-z][a-z0-9+.-]*://)?[^/?#]*@", r"\1", url, flags=re.IGNORECASE)
    return SECRET_PARAM.sub(r"\1=<redacted>", url)


def one_line(text, limit=300):
    """Text for Stash's log: one line (an HTML error page collapses), at most `limit` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "..."


def log(level, message):
    """Stash's plugin log format: SOH, a level character (t, d, i, w, e), STX, the message."""
    for line in str(message).splitlines() or [""]:
        sys.stderr.write("\x01%s\x02%s\n" % (level, line))
    sys.stderr.flush()


REPLY_LOCK = threading.Lock()
REPLIED = []


def reply(document, error_line=None):
    """Prints the one reply of this run (and its error line in Stash's log); a later one is dropped: the work
    finishing after the budget ran out must not answer twice."""
    with REPLY_LOCK:
        if REPLIED:
            return
        REPLIED.append(True)
        if error_line is not None:
            log("e", error_line)
        sys.stdout.write(json.dumps(document))
        sys.stdout.write("\n")
        sys.stdout.flush()


def fail(message):
    """A failure: one line in Stash's log, and the reply Stash shows."""
    message = one_line(message, 500)
    reply({"error": message}, error_line=message)


def stash_base_url(connection):
    scheme = connection.get("Scheme") or "http"
    host = connection.get("Host") or "127.0.0.1"
    # Stash binds to 0.0.0.0 by default: that is not an address to connect to.
    if host in ("0.0.0.0", "::", "[::]", ""):
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = "[%s]" % host
    port = connection.get("Port") or 9999
    return "%s://%s:%s" % (scheme, host, port)


def plugin_settings(connection):
    """The plugin's settings from Stash's configuration; {} when they cannot be read."""
    if not isinstance(connection, dict) or not connection.get("Port"):
        return {}
    query = json.dumps({
        "query": "query ($ids: [ID!]) { configuration { plugins(include: $ids) } }",
        "variables": {"ids": [PLUGIN_ID]},
    }).encode("utf-8")
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    cookie = connection.get("SessionCookie")
    if isinstance(cookie, dict) and cookie.get("Value"):
        headers["Cookie"] = "%s=%s" % (cookie.get("Name") or "session", cookie["Value"])
    request = urllib.request.Request(stash_base_url(connection) + "/graphql", data=query, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=min(SETTINGS_TIMEOUT_SECONDS, remaining())) as response:
            body = json.loads(response.read().decode("utf-8"))
        plugins = (((body or {}).get("data") or {}).get("configuration") or {}).get("plugins") or {}
        settings = plugins.get(PLUGIN_ID) or {}
        return settings if isinstance(settings, dict) else {}
    except Exception as error:  # settings are optional: fall back to the environment and the default
        log("d", one_line("could not read the plugin settings from Stash: %s" % error))
        return {}


def setting(settings, env_name, key):
    value = os.environ.get(env_name)
    if value:
        return value.strip()
    value = settings.get(key)
    return value.strip() if isinstance(value, str) and value.strip() else None


def hook_endpoint(url):
    url = url.rstrip("/")
    return url if url.endswith("/hooks/stash") else url + "/hooks/stash"


def main():
    raw = sys.stdin.read()
    try:
        document = json.loads(raw)
    except ValueError as error:
        reply({"error": "plexsync-forward: the plugin input is not JSON (%s)" % error})
        return
    if not isinstance(document, dict):
        reply({"error": "plexsync-forward: the plugin input is not a JSON object"})
        return

    connection = document.get("server_connection") or {}
    settings = plugin_settings(connection)
    url = hook_endpoint(setting(settings, "PLEXSYNC_HOOK_URL", "schedulerUrl") or DEFAULT_URL)
    TARGET.append(url)
    secret = setting(settings, "PLEXSYNC_WEBHOOK_SECRET", "webhookSecret")

    # The Stash session cookie is a credential the scheduler does not need: it is not sent on.
    forwarded = dict(document)
    if isinstance(connection, dict):
        forwarded["server_connection"] = {k: v for k, v in connection.items() if k != "SessionCookie"}
    body = json.dumps(forwarded).encode("utf-8")
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if secret:
        headers["Authorization"] = "Bearer " + secret

    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=remaining()) as response:
            text = response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        text = error.read().decode("utf-8", "replace")
        try:
            answer = json.loads(text)
            detail = answer.get("message") or answer.get("error") or text
        except (ValueError, AttributeError):
            detail = text.strip() or error.reason
        hint = ""
        if error.code == 401:
            hint = " Set the same secret as the scheduler's PLEXSYNC_WEBHOOK_SECRET in the plugin settings."
        fail("plexsync-scheduler at %s answered %s: %s.%s" % (shown_url(url), error.code, one_line(detail), hint))
        return
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        fail(
            "cannot reach plexsync-scheduler at %s (%s). Start it, or set its address in the plugin settings; "
            "its change feed still picks this change up." % (shown_url(url), reason)
        )
        return

    try:
        answer = json.loads(text)
    except ValueError:
        answer = None
    if isinstance(answer, dict) and ("output" in answer or "error" in answer):
        if answer.get("error"):
            reply(answer, error_line=one_line(answer["error"], 500))
        else:
            log("i", answer.get("output"))
            reply(answer)
    else:
        reply({"output": text.strip() or "recorded"})


def run():
    try:
        main()
    except Exception as error:  # never leave Stash without a reply
        fail("plexsync-forward failed: %s" % error)


if __name__ == "__main__":
    # The work runs beside a watchdog: whatever the network does (a host that accepts and never answers, one that
    # trickles bytes past every socket timeout), Stash gets its reply within the budget.
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(RUN_BUDGET_SECONDS)
    if worker.is_alive():
        fail(
            "plexsync-scheduler did not answer within %.0f s (%s); the scheduler's change feed picks this change "
            "up." % (RUN_BUDGET_SECONDS, shown_url(TARGET[0]) if TARGET else "its address")
        )
    sys.stdout.flush()
    sys.stderr.flush()
    # os._exit, not sys.exit: a worker stuck in a socket call must not hold up the exit.
    os._exit(0)
