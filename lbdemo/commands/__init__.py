"""One module per ``lbdemo`` subcommand (or group of subcommands); see :mod:`lbdemo.cli`."""
