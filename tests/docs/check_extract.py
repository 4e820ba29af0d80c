#!/usr/bin/env python3
"""Checks that extract.py fails loudly: each malformed page in bad/ must make it exit 1 with a
message naming that page and the line at fault (and no traceback); so must a run given no page,
and one that leaves out a page of its --docs-dir. Well-formed pages (good/) give one test case per
example. Usage: check_extract.py EXTRACT.py OUTPUT_DIR"""
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


def run(extract, output, args):
    """extract.py with OUTPUT, or with --docs-dir DIR before it when args starts with that."""
    options, pages = (args[:2], args[2:]) if args[:1] == ['--docs-dir'] else ([], args)
    return subprocess.run([sys.executable, extract, *map(str, options), str(output), *map(str, pages)],
                          capture_output=True, text=True)


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
    # well-formed pages: one test case per example, setup blocks at namespace scope
    good = HERE / 'good'
    result = run(extract, output, ['--docs-dir', good, good / 'page.md', good / 'other.md'])
    generated = output.read_text() if result.returncode == 0 else ''
    if (result.returncode != 0 or generated.count('TEST_CASE(') != 2 or 'TEST_CASE("docs/page: uses the helper")' not in generated
            or generated.index('int twice') > generated.index('TEST_CASE("docs/page')):
        failures.append(f'good pages: expected exit 0 and two test cases, got exit {result.returncode}: {result.stderr.strip()}')
    # a page of the docs directory left out of the list
    result = run(extract, output, ['--docs-dir', good, good / 'page.md'])
    if result.returncode != 1 or 'pages not given' not in result.stderr or 'other.md' not in result.stderr:
        failures.append(f'a page left out: expected exit 1 naming it, got exit {result.returncode}: {result.stderr.strip()}')
    for failure in failures:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main(*sys.argv[1:]))
