#!/usr/bin/env python3
"""Compile-fail test runner: proves that one case file fails to compile for its stated reason.

A case file compiles cleanly as it is, and fails once MODIFY_SHOULD_FAIL is defined (which enables
its offending line). The runner takes the compile command of a reference test translation unit
from <build root>/compile_commands.json (so the case sees the same flags, include paths and
precompiled header as the unit tests), puts the case file in place of the reference source, and
compiles it twice with -fsyntax-only:

  (a) without -DMODIFY_SHOULD_FAIL: must succeed with no diagnostics at all (no warnings either);
  (b) with -DMODIFY_SHOULD_FAIL: must fail; the first output line that contains "error:" must
      contain the text of the case's `// expect: modify: ...` comment; and the whole diagnostic
      output must have at most 25 lines (or the case's `// max-lines: N <justification>`).

Exit status: 0 if the case holds; 1 if it is violated (the explanation and the compiler output
are printed); 99 if the runner could not run the case at all (bad arguments, a malformed case
file, no compile command for the reference, precompiled header not built yet). Meson reports 99
as ERROR even for a test registered with should_fail: true, so a broken setup never passes as an
expected failure.
"""

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time

DEFAULT_MAX_LINES = 25
HARNESS_ERROR = 99  # Meson's "hard error" exit status
VIOLATION = 1

# Options dropped from the reference command, with the number of arguments each one consumes.
DROPPED = {'-o': 1, '-c': 0, '-MD': 0, '-MMD': 0, '-MP': 0, '-MQ': 1, '-MF': 1, '-MT': 1}


class HarnessError(Exception):
    pass


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message):  # a usage error is a harness error, not a violated case
        self.print_usage(sys.stdout)
        print(f'COMPILE-FAIL HARNESS ERROR (the case was not checked): {message}')
        sys.exit(HARNESS_ERROR)


def parse_case(path):
    """Returns (expect, max_lines) from the case file's comments."""
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read()
    except OSError as e:
        raise HarnessError(f'cannot read the case file: {e}')
    expects = re.findall(r'^\s*//\s*expect:\s*(.*?)\s*$', text, re.M)
    if len(expects) != 1:
        raise HarnessError(f'{path}: needs exactly one `// expect: modify: <text>` comment, found {len(expects)}')
    expect = expects[0]
    if not expect.startswith('modify:'):
        raise HarnessError(f'{path}: the expected text must be the library\'s own message, starting with '
                           f'"modify:"; got "{expect}"')
    max_lines = DEFAULT_MAX_LINES
    limits = re.findall(r'^\s*//\s*max-lines:\s*(.*?)\s*$', text, re.M)
    if len(limits) > 1:
        raise HarnessError(f'{path}: more than one `// max-lines:` comment')
    if limits:
        m = re.fullmatch(r'(\d+)\s*(.*)', limits[0])
        if not m or not m.group(2).strip(' -:()'):
            raise HarnessError(f'{path}: write `// max-lines: N <why this case needs more than '
                               f'{DEFAULT_MAX_LINES} lines>`; got "// max-lines: {limits[0]}"')
        max_lines = int(m.group(1))
    if not re.search(r'^\s*#\s*if(def\s+MODIFY_SHOULD_FAIL|\s+defined\s*\(?\s*MODIFY_SHOULD_FAIL)', text, re.M):
        raise HarnessError(f'{path}: has no `#ifdef MODIFY_SHOULD_FAIL` block around its offending line')
    return expect, max_lines


def find_entry(build_root, reference):
    db_path = os.path.join(build_root, 'compile_commands.json')
    try:
        with open(db_path, encoding='utf-8') as f:
            db = json.load(f)
    except (OSError, ValueError) as e:
        raise HarnessError(f'cannot read {db_path}: {e}')
    wanted = os.path.realpath(reference)
    for entry in db:
        if entry['file'] == reference:
            return entry
    for entry in db:
        if os.path.realpath(os.path.join(entry['directory'], entry['file'])) == wanted:
            return entry
    known = ', '.join(e['file'] for e in db)
    raise HarnessError(f'no compile command for "{reference}" in {db_path} (it has: {known})')


def case_command(entry, case_path):
    """The reference command with the case file as source, for a syntax-only check."""
    args = entry['arguments'] if 'arguments' in entry else shlex.split(entry['command'])
    directory = entry['directory']
    source = os.path.realpath(os.path.join(directory, entry['file']))
    out, replaced, i = [args[0]], False, 1
    while i < len(args):
        a = args[i]
        if a in DROPPED:
            i += 1 + DROPPED[a]
            continue
        if a.startswith('-fdiagnostics-color') or a == '-fsyntax-only':
            i += 1
            continue
        if not a.startswith('-') and os.path.realpath(os.path.join(directory, a)) == source:
            out.append(os.path.abspath(case_path))
            replaced = True
        else:
            out.append(a)
        i += 1
    if not replaced:
        raise HarnessError(f'the reference command does not name its source {entry["file"]}: {entry}')
    if '-Winvalid-pch' not in out:
        out.append('-Winvalid-pch')  # a precompiled header that is found but unusable becomes a warning
    out += ['-fdiagnostics-color=never', '-fsyntax-only']
    return out


def check_pch(command, directory):
    """For each `-include NAME` (Meson's cpp_pch), returns where GCC will find NAME.gch. GCC looks
    for NAME.gch, then NAME, first in the working directory and then in the -I directories."""
    found = []
    include_dirs = ['.']
    for i, a in enumerate(command):
        if a == '-I' and i + 1 < len(command):
            include_dirs.append(command[i + 1])
        elif a.startswith('-I') and len(a) > 2:
            include_dirs.append(a[2:])
    for i, a in enumerate(command):
        if a != '-include' or i + 1 >= len(command):
            continue
        name = command[i + 1]
        for d in include_dirs:
            base = os.path.join(directory, d, name)
            if os.path.exists(base + '.gch'):
                found.append(os.path.normpath(base + '.gch'))
                break
            if os.path.exists(base):
                raise HarnessError(f'the precompiled header {name}.gch is not built (GCC would parse {base} '
                                   'instead); build the reference target first, e.g. ninja -C <build root>')
        else:
            raise HarnessError(f'the precompiled header {name}.gch is not built; build the reference '
                               'target first, e.g. ninja -C <build root>')
    return found


def compile_case(command, directory, defines):
    start = time.monotonic()
    try:
        p = subprocess.run(command[:1] + defines + command[1:], cwd=directory, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, errors='replace')
    except OSError as e:
        raise HarnessError(f'cannot run the compiler {command[0]}: {e}')
    return p.returncode, p.stdout, time.monotonic() - start


def violation(message, output, command):
    print(f'COMPILE-FAIL CASE VIOLATED: {message}')
    print(f'command: {shlex.join(command)}')
    print('---- compiler output ----')
    print(output, end='' if output.endswith('\n') or not output else '\n')
    print('---- end of compiler output ----')
    return VIOLATION


def run(args):
    expect, max_lines = parse_case(args.case)
    entry = find_entry(args.build_root, args.reference)
    directory = entry['directory']
    command = case_command(entry, args.case)
    pchs = check_pch(command, directory)
    print(f'case: {args.case}')
    print(f'precompiled header: {", ".join(pchs) if pchs else "none in the reference command"}')

    # (a) As written, the case must be valid code: this proves the failure below comes from the
    # offending line alone.
    status, output, seconds = compile_case(command, directory, [])
    print(f'(a) without MODIFY_SHOULD_FAIL: exit {status}, {len(output.splitlines())} lines, {seconds:.1f} s')
    if 'Winvalid-pch' in output:
        return violation('the precompiled header was found but not used (-Winvalid-pch)', output, command)
    if status != 0:
        return violation('the case does not compile without MODIFY_SHOULD_FAIL; only its offending '
                         'line may be wrong', output, command)
    if output.strip():
        return violation('the case compiles without MODIFY_SHOULD_FAIL but not cleanly: the compiler '
                         'printed diagnostics', output, command)

    # (b) With the offending line, it must fail with the library's own sentence first, briefly.
    fail_command = command[:1] + ['-DMODIFY_SHOULD_FAIL'] + command[1:]
    status, output, seconds = compile_case(command, directory, ['-DMODIFY_SHOULD_FAIL'])
    lines = output.splitlines()
    print(f'(b) with MODIFY_SHOULD_FAIL: exit {status}, {len(lines)} lines, {seconds:.1f} s')
    if status == 0:
        return violation('the case compiles with MODIFY_SHOULD_FAIL; it must fail', output, fail_command)
    first_error = next((line for line in lines if 'error:' in line), None)
    if first_error is None:
        return violation('the compiler failed without printing any "error:" line', output, fail_command)
    if expect not in first_error:
        return violation(f'the first error line does not contain the expected text\n'
                         f'  expected: {expect}\n  first error line: {first_error}', output, fail_command)
    if len(lines) > max_lines:
        return violation(f'the diagnostic has {len(lines)} lines, more than the {max_lines} allowed',
                         output, fail_command)
    print('---- compiler output ----')
    print(output, end='' if output.endswith('\n') else '\n')
    print('---- end of compiler output ----')
    print(f'first error line: {first_error}')
    print(f'OK: fails as expected, {len(lines)} lines of diagnostics (at most {max_lines})')
    return 0


def main():
    parser = ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--build-root', required=True, help='the build directory holding compile_commands.json')
    parser.add_argument('--reference', required=True,
                        help='a test source whose compile command is used (as written in '
                             'compile_commands.json, or any path to the same file)')
    parser.add_argument('case', help='the case file')
    args = parser.parse_args()
    try:
        return run(args)
    except HarnessError as e:
        print(f'COMPILE-FAIL HARNESS ERROR (the case was not checked): {e}')
        return HARNESS_ERROR


if __name__ == '__main__':
    sys.exit(main())
