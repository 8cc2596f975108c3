"""`python -m simulator`: serve the three department systems on SIMULATOR_HOST:SIMULATOR_PORT.

Defaults (127.0.0.1:8081) match the department URLs in models/settings.py; behaviour comes from
the SIMULATOR_* variables described in simulator/config.py.
"""

from __future__ import annotations

import logging
import os

import uvicorn

import clients
from models.settings import Settings
from simulator.app import create_app
from simulator.config import SimulatorConfig
from simulator.temporal_signaller import TemporalSignaller


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = SimulatorConfig.from_env(os.environ)
    # Settings are read on the first signal, like the connection: the simulator starts anyway.
    app = create_app(config, TemporalSignaller(lambda: clients.connect_for_process(Settings())))
    uvicorn.run(
        app,
        host=os.environ.get("SIMULATOR_HOST", "127.0.0.1"),
        port=int(os.environ.get("SIMULATOR_PORT", "8081")),
        # The desk logs one line per request with what matters; the access log would repeat it.
        access_log=False,
    )


if __name__ == "__main__":
    main()
