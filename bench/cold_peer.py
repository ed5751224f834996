"""The PEER of the cold start: a Slack Bolt app with its OAuth flow on Chalice
(``ChaliceSlackRequestHandler`` + ``App(oauth_settings=...)``), cold-imported in its own virtualenv
(bench/.venv-peer) and serving its first OAuth request, ``GET /slack/install`` (issues a state,
renders the "Add to Slack" page). State and installations in files under a temporary directory: no
network. Prints one ``BENCH {json}`` line."""

import time

T0 = time.perf_counter()
C0 = time.process_time()

import os  # noqa: E402
import sys  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from chalice import Chalice  # noqa: E402
from slack_bolt import App  # noqa: E402
from slack_bolt.adapter.aws_lambda.chalice_handler import ChaliceSlackRequestHandler  # noqa: E402
from slack_bolt.oauth.oauth_settings import OAuthSettings  # noqa: E402
from slack_sdk.oauth.installation_store import FileInstallationStore  # noqa: E402
from slack_sdk.oauth.state_store import FileOAuthStateStore  # noqa: E402

from bench.events import LambdaContext, event, report  # noqa: E402

state_dir = os.environ["BENCH_PEER_DIR"]
bolt = App(
    signing_secret="bench-signing-secret",
    oauth_settings=OAuthSettings(
        client_id="111.222",
        client_secret="bench-client-secret",
        scopes=["chat:write", "commands"],
        user_scopes=["openid", "email", "profile"],
        installation_store=FileInstallationStore(base_dir=os.path.join(state_dir, "installations")),
        state_store=FileOAuthStateStore(expiration_seconds=600, base_dir=os.path.join(state_dir, "states")),
    ),
)
app = Chalice(app_name="bolt-peer")
handler = ChaliceSlackRequestHandler(app=bolt, chalice=app)


@app.route("/slack/install", methods=["GET"])
def install() -> object:
    return handler.handle(app.current_request)


@app.route("/slack/events", methods=["POST"])
def events() -> object:
    return handler.handle(app.current_request)


T1 = time.perf_counter()
reply = app(event("GET", "/slack/install", "/slack/install"), LambdaContext("bolt-peer"))
T2 = time.perf_counter()
report(T0, T1, T2, C0, reply)
