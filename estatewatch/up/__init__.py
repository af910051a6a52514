"""`estatewatch up`: the whole estate in one command, on embedded defaults.

An in-process MQTT broker (or `--mqtt URL`) and notification receiver, then each component
as a child process (`python -m estatewatch <component>`), in the order of the table
(`table.py`): simulators, ingest, gateway, rules, API, simulated guards. Each binds port 0
and announces the port it got (`estatewatch.ready`); each is waited for until healthy, its
output kept in `<data-dir>/logs/<name>.log`. Ctrl-C (or SIGTERM) stops them in reverse order
and waits for each, so no process or port is left behind.

    cli.py      the command lines, the data directory's lock, the API port's check
    main.py     the run: broker, receiver, children, up.json, banner, stop
    table.py    the parts and the settings each is given
    runner.py   child processes: start, ready, watch, stop
    receiver.py the loopback robot/webhook the demo's notifications go to
    demo.py     demo logins, keys and secrets, the API's site file
    banner.py   what it says
"""

from estatewatch.up.cli import add_parser, data_dir_lock
from estatewatch.up.main import STATE_FILE
from estatewatch.up.runner import UpError

__all__ = ["STATE_FILE", "UpError", "add_parser", "data_dir_lock"]
