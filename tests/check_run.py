"""Fail a test run that ran nothing or skipped anything; with --browser, one that left out tests/e2e.

The browser tests run once, on PostgreSQL (the test budget in docs/design.md); the SQLite run
leaves them out on purpose and says so.
"""

import sys
import xml.etree.ElementTree as ET


def main(report_path: str, *, browser: bool) -> int:
    suite = ET.parse(report_path).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    assert suite is not None
    tests, skipped = int(suite.get("tests", 0)), int(suite.get("skipped", 0))
    browser_tests = [
        case for case in suite.iter("testcase") if ".e2e." in (case.get("classname") or "")
    ]
    problems = []
    if tests == 0:
        problems.append("no tests ran")
    if skipped:
        problems.append(f"{skipped} tests were skipped; every test must run")
    if browser and not browser_tests:
        problems.append("the browser tests in tests/e2e did not run")
    if problems:
        print(f"{report_path}: " + "; ".join(problems), file=sys.stderr)
        return 1
    print(f"{report_path}: {tests} tests ran, {len(browser_tests)} of them in the browser")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], browser="--browser" in sys.argv[2:]))
