#!/usr/bin/env python3
"""Drives the collector's web console in Debian's headless Chromium (selenium + chromedriver).

    console_browser.py SETTINGS.json

SETTINGS: base URL, a bank token, a contract token, the profile to count against, the failing
PC's hostname, a device key id of another contract, the claim's transfers and notification day,
and a directory for screenshots and the printed PDF.

Signs in as the bank, reads the overview's counts for the profile, filters to failing PCs, opens
the failing PC, runs a claim from the form and fetches the kept assessment's JSON, prints the
assessment to PDF (A4), switches to Japanese, signs out and checks the session is gone; then signs
in with the contract token and opens a device of another contract. Prints one JSON object with
what it saw; the Swift test compares it with the planted facts and with `posture-collector assess`.
Exit status: 0 ran to the end; 2 could not run (no selenium, no browser).
"""
import base64
import json
import os
import sys
import urllib.request


def main():
    settings = json.load(open(sys.argv[1]))
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.print_page_options import PrintOptions
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.support.ui import Select, WebDriverWait
    except ImportError as error:
        print(f"selenium is not installed: {error}", file=sys.stderr)
        return 2
    out = settings["output"]
    os.makedirs(out, exist_ok=True)
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000",
                     "--lang=en-US"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)
    base = settings["base"]
    seen = {}

    def click(element_id, by=None):
        """Clicks what leads to another page, and waits until the old page is gone."""
        old = driver.find_element(By.TAG_NAME, "html")
        driver.find_element(by or By.ID, element_id).click()

        def gone(_):
            # While Chromium swaps documents, asking about the old node can fail with an inspector
            # error ("Node with given id does not belong to the document") instead of a stale
            # element: either way the old page is gone.
            try:
                old.is_enabled()
                return False
            except WebDriverException:
                return True

        WebDriverWait(driver, 20).until(gone)
        WebDriverWait(driver, 20).until(lambda d: d.execute_script("return document.readyState") == "complete")

    def shot(name):
        driver.save_screenshot(os.path.join(out, name + ".png"))

    def sign_in(token):
        driver.get(base + "/console/overview")
        driver.find_element(By.ID, "token").send_keys(token)
        click("sign-in")

    def tallies():
        rows = {}
        for row in driver.find_elements(By.CSS_SELECTOR, "#tallies tbody tr[data-contract]"):
            cells = {name: int(row.find_element(By.CSS_SELECTOR, "td." + name).text)
                     for name in ("devices", "failing", "unknown", "silent", "events")}
            rows[row.get_attribute("data-contract")] = cells
        return rows

    try:
        driver.get(base + "/console/overview")
        seen["unsigned_redirect"] = driver.current_url.endswith("/console/sign-in")
        driver.find_element(By.ID, "token").send_keys("pst_staff_not_a_token")
        click("sign-in")
        seen["bad_token_error"] = driver.find_element(By.ID, "error").text
        shot("sign-in-refused")

        sign_in(settings["bank_token"])
        cookies = {cookie["name"]: cookie for cookie in driver.get_cookies()}
        session = cookies.get("posture_session", {})
        seen["cookie"] = {"httpOnly": session.get("httpOnly"), "sameSite": session.get("sameSite"), "secure": session.get("secure")}
        Select(driver.find_element(By.ID, "filter-profile")).select_by_value(settings["profile"])
        click("filter")
        seen["tallies"] = tallies()
        seen["all_hosts"] = sorted(row.find_element(By.CSS_SELECTOR, "td a").text
                                   for row in driver.find_elements(By.CSS_SELECTOR, "#devices tr.device"))
        shot("overview")
        Select(driver.find_element(By.ID, "filter-standing")).select_by_value("failing")
        click("filter")
        seen["failing_hosts"] = [row.find_element(By.CSS_SELECTOR, "td a").text
                                 for row in driver.find_elements(By.CSS_SELECTOR, "#devices tr.device")]
        Select(driver.find_element(By.ID, "filter-standing")).select_by_value("silent")
        click("filter")
        seen["silent_hosts"] = [row.find_element(By.CSS_SELECTOR, "td a").text
                                for row in driver.find_elements(By.CSS_SELECTOR, "#devices tr.device")]
        Select(driver.find_element(By.ID, "filter-standing")).select_by_value("events")
        click("filter")
        seen["event_hosts"] = [row.find_element(By.CSS_SELECTOR, "td a").text
                               for row in driver.find_elements(By.CSS_SELECTOR, "#devices tr.device")]
        shot("overview-events")
        Select(driver.find_element(By.ID, "filter-standing")).select_by_value("all")
        Select(driver.find_element(By.ID, "filter-fails")).select_by_value(settings["failing_requirement"])
        click("filter")
        seen["requirement_hosts"] = [row.find_element(By.CSS_SELECTOR, "td a").text
                                     for row in driver.find_elements(By.CSS_SELECTOR, "#devices tr.device")]

        driver.get(base + "/console/overview?standing=failing&profile=" + settings["profile"])
        click(settings["failing_host"], By.LINK_TEXT)
        seen["device_title"] = driver.find_element(By.TAG_NAME, "h1").text
        seen["device_failing_findings"] = [row.text for row in driver.find_elements(
            By.XPATH, "//h2[@id='profile-%s']/following-sibling::table[1]//tr[contains(@class, 'fail')]" % settings["profile"])]
        seen["device_timeline_spans"] = len(driver.find_elements(
            By.XPATH, "//div[@id='timeline-%s']//*[local-name()='rect']" % settings["profile"]))
        shot("device")

        click("claim")
        Select(driver.find_element(By.ID, "claim-profile")).select_by_value(settings["profile"])
        driver.find_element(By.ID, "claim-incidents").send_keys("\n".join(settings["incidents"]))
        notified = driver.find_element(By.ID, "claim-notified")
        driver.execute_script("arguments[0].value = arguments[1]", notified, settings["notified"])
        click("assess")
        seen["assessment_url"] = driver.current_url
        seen["assessment_outcome_text"] = driver.find_element(By.CSS_SELECTOR, ".outcome").text
        shot("assessment")
        request = urllib.request.Request(driver.current_url + "/assessment.json",
                                         headers={"Cookie": "posture_session=" + session.get("value", "")})
        seen["assessment"] = json.load(urllib.request.urlopen(request))
        driver.set_window_size(794, 1123)
        seen["overflowing"] = driver.execute_script(
            "return document.documentElement.scrollWidth > document.documentElement.clientWidth + 1")
        pdf = base64.b64decode(driver.print_page(PrintOptions()))
        with open(os.path.join(out, "assessment.pdf"), "wb") as file:
            file.write(pdf)
        seen["pdf_pages"] = pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")
        driver.set_window_size(1280, 1000)

        driver.get(base + "/console/overview")
        click("language")
        seen["japanese_heading"] = driver.find_element(By.TAG_NAME, "h1").text
        shot("overview-ja")
        click("sign-out")
        seen["after_sign_out"] = driver.current_url
        driver.get(base + "/console/overview")
        seen["after_sign_out_overview"] = driver.current_url
        driver.get(base + "/console/language/en")

        sign_in(settings["contract_token"])
        seen["contract_tallies"] = sorted(tallies().keys())
        driver.get(base + "/console/devices/" + settings["other_key"])
        seen["other_contract_device"] = driver.find_element(By.TAG_NAME, "h1").text
        shot("other-contract-device")
    finally:
        driver.quit()
    print(json.dumps(seen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
