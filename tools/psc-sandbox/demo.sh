#!/bin/sh
# `make demo`'s "psc" process: the local Pro Santé Connect provider on PSC_SANDBOX_PORT, when
# Node.js is installed and `make install` ran `npm ci` here. Without Node, it says so and
# idles (honcho stops every process when one exits); the PSC button is then hidden.
cd "$(dirname "$0")" || exit 1
if command -v node >/dev/null 2>&1 && [ -d node_modules/oidc-provider ]; then
	exec node server.mjs
fi
echo "Pro Santé Connect sandbox not started: install Node.js 20 and run 'make install'."
exec tail -f /dev/null
