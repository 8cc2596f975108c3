"""Runs the codec server for the Temporal UI and CLI (encryption/server.py says what it does).

Configuration comes from the environment (see the README's table): the store and master keys as
for the worker, INQUIRY_CODEC_HOST / INQUIRY_CODEC_PORT, INQUIRY_CODEC_UI_ORIGIN and
INQUIRY_CODEC_TOKENS_FILE; operators are those of the roster.
"""

from __future__ import annotations

import asyncio
import logging

import uvicorn

import clients
from activities.config_files import ConfigError, WatchedFile
from activities.roster import load_roster
from encryption import KeyConfigError
from encryption.access import OperatorTokens
from encryption.server import create_app
from models.settings import Settings

log = logging.getLogger("regulated_inquiries.codec_server")


async def main(settings: Settings | None = None) -> None:
    settings = settings or Settings()
    roster = WatchedFile(settings.roster_path, load_roster)
    tokens = OperatorTokens.load(settings.codec_tokens_file)
    async with clients.data_keys(settings) as keys:
        app = create_app(keys, roster.current, tokens, ui_origin=settings.codec_ui_origin or None)
        config = uvicorn.Config(
            app, host=settings.codec_host, port=settings.codec_port, access_log=False
        )
        log.info("codec server at http://%s:%d", settings.codec_host, settings.codec_port)
        await uvicorn.Server(config).serve()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        asyncio.run(main())
    except (KeyConfigError, ConfigError) as err:
        log.error("%s", err)
        raise SystemExit(2) from None
