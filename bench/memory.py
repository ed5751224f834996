"""Peak resident memory of a whole flow: a fresh process imports the app and runs connect (sign-in,
consent, allow) then revoke in-process against the bench's stack, as one Lambda container would.
Prints one ``BENCH {json}`` line with ``ru_maxrss``."""

from __future__ import annotations

import json
import os
import resource
import secrets
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main() -> None:
    from app import app

    from bench import driver as flows

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    browser, sign_in, new_token = flows.from_environment(app)
    organization_id = f"800{secrets.randbelow(10**9):09d}"
    flows.connect(browser, new_token(organization_id), sign_in)
    flows.revoke(browser, new_token(organization_id))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print("BENCH " + json.dumps({"maxrss_kb": usage.ru_maxrss, "maxrss_after_import_kb": before, "modules": len(sys.modules)}), flush=True)


if __name__ == "__main__":
    main()
