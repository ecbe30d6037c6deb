"""Stand-in for the get-pip script ansible-test downloads to bootstrap pip in its venvs.

This machine reaches package registries only, so pip comes from CPython's own ensurepip and
then upgrades itself from the package index to the versions ansible-test asks for.
"""

import subprocess
import sys


def main():
    # ensurepip blanks pip's configuration in its own process; a child keeps ours intact.
    subprocess.run([sys.executable, '-m', 'ensurepip', '--upgrade'], check=True, stdout=subprocess.DEVNULL)
    args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
    sys.exit(subprocess.run([sys.executable, '-m', 'pip', 'install', '--upgrade'] + args, check=False).returncode)


if __name__ == '__main__':
    main()
