#!/usr/bin/env python3
"""Checks that extract.py fails loudly: each malformed page in bad/ must make it exit 1 with a
message naming that page and the line at fault (and no traceback); so must a run that finds no
example at all. Usage: check_extract.py EXTRACT.py OUTPUT_DIR"""
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
# page in bad/ -> (line the message must name, words it must contain)
CASES = {
    'no_fence.md': (3, 'must open a ```cpp block'),
    'unclosed.md': (3, 'no closing ```'),
    'bad_marker.md': (3, 'malformed example marker'),
    'no_example.md': (1, 'no <!-- example'),
    'no_check.md': (3, 'asserts nothing'),
    'duplicate.md': (8, "a second example named 'same'"),
    'empty.md': (3, 'is empty'),
}


def run(extract, output, pages):
    return subprocess.run([sys.executable, extract, output, *map(str, pages)], capture_output=True, text=True)


def main(extract, output_dir):
    output = pathlib.Path(output_dir) / 'check_extract.cpp'
    failures = []
    for page, (line, words) in CASES.items():
        path = HERE / 'bad' / page
        result = run(extract, output, [path])
        where = f'{path}:{line}:'
        if result.returncode != 1 or where not in result.stderr or words not in result.stderr or 'Traceback' in result.stderr:
            failures.append(f'{page}: expected exit 1 and "{where} ...{words}...", got exit '
                            f'{result.returncode}: {result.stderr.strip()}')
    result = run(extract, output, [])
    if result.returncode == 0:
        failures.append('no pages at all: expected a non-zero exit')
    for failure in failures:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main(*sys.argv[1:]))
