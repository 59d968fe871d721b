#!/usr/bin/env python3
"""Checks that Chromium draws every Japanese character of an HTML page with a font that has it.

    glyph_check.py PAGE.html

Opens the page in Debian's headless Chromium through chromedriver (selenium, from PyPI), asks the
DevTools protocol which platform fonts drew each element's text (CSS.getPlatformFontsForNode) and
asks fontconfig (fc-list, in the same environment as Chromium, so FONTCONFIG_FILE applies to both)
which of those fonts hold each Japanese character. A character that none of the fonts drawing its
element holds is drawn as a missing-glyph box (tofu).

Prints one JSON object: elements and characters checked, the fonts used, and what is missing.
Exit status: 0 every Japanese character has a glyph; 1 some are missing (or the page has no
Japanese text to check); 2 the check could not run.
"""
import json
import os
import subprocess
import sys

JAPANESE = [(0x3000, 0x303F), (0x3040, 0x309F), (0x30A0, 0x30FF), (0x4E00, 0x9FFF),
            (0xFF00, 0xFFEF), (0x2460, 0x24FF)]
NOT_DRAWN = {"HEAD", "STYLE", "SCRIPT", "TITLE", "NOSCRIPT", "TEMPLATE"}


def is_japanese(character):
    code = ord(character)
    return any(low <= code <= high for low, high in JAPANESE)


_coverage = {}


def families_holding(character):
    """Font families fontconfig says hold `character` (a family may have several names)."""
    if character not in _coverage:
        out = subprocess.run(["fc-list", "--format=%{family}\n", f":charset={ord(character):x}"],
                             capture_output=True, text=True, check=True).stdout
        _coverage[character] = {name.strip() for line in out.splitlines() for name in line.split(",") if name.strip()}
    return _coverage[character]


def text_elements(node, drawn=True):
    """(nodeId, own text) for every drawn element with text children of its own."""
    name = node.get("nodeName", "")
    drawn = drawn and name not in NOT_DRAWN
    children = node.get("children", [])
    if node.get("nodeType") == 1 and drawn:
        text = "".join(child.get("nodeValue", "") for child in children if child.get("nodeType") == 3)
        if text.strip():
            yield node["nodeId"], text
    for child in children:
        yield from text_elements(child, drawn)
    if "contentDocument" in node:
        yield from text_elements(node["contentDocument"], drawn)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    page = os.path.abspath(sys.argv[1])
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as error:
        print(f"selenium is not installed: {error}", file=sys.stderr)
        return 2
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    service = Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(service=service, options=options)
    try:
        driver.get("file://" + page)
        driver.execute_cdp_cmd("DOM.enable", {})
        driver.execute_cdp_cmd("CSS.enable", {})
        document = driver.execute_cdp_cmd("DOM.getDocument", {"depth": -1, "pierce": True})["root"]
        elements = characters = 0
        used, missing = {}, []
        for node_id, text in text_elements(document):
            japanese = sorted({c for c in text if is_japanese(c)})
            if not japanese:
                continue
            fonts = driver.execute_cdp_cmd("CSS.getPlatformFontsForNode", {"nodeId": node_id})["fonts"]
            families = {font["familyName"] for font in fonts}
            for family in families:
                used[family] = used.get(family, 0) + 1
            elements += 1
            characters += len(japanese)
            lacking = [c for c in japanese if not (families & families_holding(c))]
            if lacking:
                missing.append({"text": text.strip()[:80], "fonts": sorted(families), "missing": "".join(lacking)})
    finally:
        driver.quit()
    print(json.dumps({"elements": elements, "characters": characters, "fonts": used, "missing": missing[:20],
                      "elements_missing": len(missing)}, ensure_ascii=False))
    return 0 if elements and not missing else 1


if __name__ == "__main__":
    sys.exit(main())
