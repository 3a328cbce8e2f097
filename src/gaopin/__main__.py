"""`python -m gaopin`, and the `gaopin` command's entry point."""

import sys


def run() -> None:
    try:
        from gaopin.cli import main
    except KeyboardInterrupt:  # Ctrl-C while the command line is still loading: no traceback
        from gaopin.errors import ExitCode

        sys.stderr.write("已中断。\n")
        sys.exit(int(ExitCode.INTERRUPTED))
    main()


if __name__ == "__main__":
    run()
