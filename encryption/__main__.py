"""Key management: `python -m encryption COMMAND`.

  new-key-file PATH         write a key ring of one fresh master key (mode 0600)
  rotate PATH               add a fresh master key to the ring and make it the active one
  rewrap                    wrap every data key with the active master key (after rotate),
                            then print how many data keys each master key still protects
  add-token OPERATOR_ID     print a new codec server token; its SHA-256 goes to the tokens file

`rewrap` and `add-token` read the same environment as the worker (DATABASE_URL,
INQUIRY_MASTER_KEYS[_FILE], INQUIRY_CODEC_TOKENS_FILE).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from activities.db import make_engine
from activities.migrations import migrate
from encryption.access import add_token
from encryption.data_keys import DataKeys
from encryption.master import KeyConfigError, new_key, new_key_id, write_key_file
from models.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m encryption", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("new-key-file").add_argument("path", type=Path)
    sub.add_parser("rotate").add_argument("path", type=Path)
    sub.add_parser("rewrap")
    sub.add_parser("add-token").add_argument("operator_id")
    args = parser.parse_args(argv)
    try:
        if args.command == "new-key-file":
            if args.path.exists():
                raise KeyConfigError(f"{args.path} exists; rotate adds a key to it")
            key_id = new_key_id()
            write_key_file(args.path, {key_id: new_key()}, key_id)
            print(f"wrote {args.path} with master key {key_id}")
        elif args.command == "rotate":
            ring = json.loads(args.path.read_text(encoding="utf-8"))
            key_id = new_key_id()
            if key_id in ring["keys"]:  # never replace a key that may still wrap data keys
                raise KeyConfigError(f"master key {key_id} exists already; run rotate again")
            write_key_file(args.path, {**ring["keys"], key_id: new_key()}, key_id)
            print(f"master key {key_id} is active; restart the processes, then run rewrap")
        elif args.command == "rewrap":
            settings = Settings()
            engine = make_engine(settings.database_url)
            migrate(engine)
            keys = DataKeys(engine, settings.load_master_keys())
            print(f"rewrapped {keys.rewrap()} data keys")
            for master_id, count in sorted(keys.master_key_ids_in_use().items()):
                print(f"  master key {master_id}: {count} data keys")
        else:
            token = add_token(Settings().codec_tokens_file, args.operator_id)
            print(token)
    except (KeyConfigError, OSError, ValueError, KeyError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
