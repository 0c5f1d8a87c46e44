"""End-to-end: the web manager in a real headless Chromium (Debian's chromium and chromium-driver,
driven by selenium). A collaborator signs in, adds a device and logs in to Postfix with the
password read off the page; changes it; disconnects all through the confirmation page. An
administrator, in a browser of his own, takes the permission away on the permissions page;
forged, token-less and other-session posts are refused; members, roles, permissions and the
global configuration through the pages. Every page is
screenshotted into test-output/screens and checked to be non-blank. Mixed into test_postern.Suite."""

import base64
import json
import os
import plistlib
import struct
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ElementTree
import zlib

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SCREENS = os.path.join(REPO, "test-output", "screens")


def non_blank(png):
    """Whether a PNG holds more than one colour (decodes the IDAT; filters left in are fine)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, data = 8, b""
    width = 0
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        if kind == b"IHDR":
            width = struct.unpack(">I", png[pos + 8:pos + 12])[0]
        if kind == b"IDAT":
            data += png[pos + 8:pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(data)
    row = 1 + width * 4
    pixels = set()
    for y in range(0, len(raw) // row, 7):
        line = raw[y * row + 1:(y + 1) * row]
        pixels.update(line[i:i + 3] for i in range(0, len(line), 4 * 13))
        if len(pixels) > 8:
            return True
    return False


class WebTests:
    def browser(self):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,900"):
            options.add_argument(flag)
        return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)

    @staticmethod
    def wait_for_text(driver, text, present=True):
        """Waits (10 s at most) until the page, once loaded after a click, holds (or lost) text."""
        from selenium.webdriver.support.ui import WebDriverWait
        WebDriverWait(driver, 10).until(lambda d: (text in d.page_source) == present)

    @staticmethod
    def wait_for_texts(driver, selector, expected):
        """Waits (10 s at most) until the elements matching selector hold exactly the expected texts.
        A click's old page may still be shown, or be replaced while it is read: both are waited out."""
        from selenium.webdriver.common.by import By
        from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait
        seen = []
        def holds(d):
            try:
                seen[:] = [e.text for e in d.find_elements(By.CSS_SELECTOR, selector)]
            except StaleElementReferenceException:
                return False
            return seen == expected
        try:
            WebDriverWait(driver, 10).until(holds)
        except TimeoutException:
            raise AssertionError(f"{selector} shows {seen}, not {expected}")

    @staticmethod
    def wait_for_url(driver, suffix):
        from selenium.webdriver.support.ui import WebDriverWait
        WebDriverWait(driver, 10).until(lambda d: d.current_url.endswith(suffix))

    def shoot(self, driver, name):
        os.makedirs(SCREENS, exist_ok=True)
        png = driver.get_screenshot_as_png()
        with open(os.path.join(SCREENS, name + ".png"), "wb") as f:
            f.write(png)
        assert non_blank(png), f"the screenshot of {name} is blank"
        self.screens = getattr(self, "screens", []) + [name]

    def access_of(self, mailbox, login):
        listed = self.d.ok("access", "list", mailbox)
        entries = listed["access"] if isinstance(listed, dict) else listed
        return next(e["permissions"] for e in entries if e["login"] == login)

    def test_long_lists_come_in_pages_with_a_search_box(self):
        """An administrator of 120 mailboxes: the home page shows 50 with "Next", the next page has
        "Previous" back to the first, and the search box finds the addresses that begin with it."""
        from harness import free_port
        from selenium.webdriver.common.by import By
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        # An organization of its own: what other tests add elsewhere does not change its pages.
        self.d.ok("org", "add", "Paging Ltd")
        self.d.ok("service", "add", "paging", "--organization", "Paging Ltd", "--domain", "paging.test")
        path = os.path.join(self.tmp, "many.passwd")
        with open(path, "w") as f:
            f.writelines(f"box{n:03d}@paging.test:{{PLAIN}}generic-{n}\n" for n in range(119))
        self.d.cli("import", "passwd-file", path)
        password_file = os.path.join(self.tmp, "pia.password")
        with open(password_file, "w") as f:
            f.write("pia-account-password\n")
        self.d.ok("user", "add", "pia@corp.test", "--name", "Pia", "--password-file", password_file)
        self.d.ok("member", "set", "Paging Ltd", "pia@corp.test", "--role", "administrator")
        for n in range(60):
            self.d.ok("member", "set", "Paging Ltd", f"member{n:02d}@corp.test", "--role", "external")
        self.secrets.append("pia-account-password")
        everything = [m["address"] for m in self.d.ok("mailbox", "list", "--all", "--as", "pia@corp.test")["mailboxes"]]
        assert everything == [f"box{n:03d}@paging.test" for n in range(119)]
        with self.restarted_with(dict(POSTERN_WEB_LISTEN=f"127.0.0.1:{port}", POSTERN_WEB_DIRECTORY=os.path.join(REPO, "web"))):
            driver = self.browser()
            try:
                driver.get(base + "/signin")
                driver.find_element(By.NAME, "login").send_keys("pia@corp.test")
                driver.find_element(By.NAME, "password").send_keys("pia-account-password")
                driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
                self.wait_for_text(driver, "Your mailboxes")
                def shown():
                    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, "ul.list span.address")]
                first = shown()
                assert first == everything[:50], first
                assert not driver.find_elements(By.LINK_TEXT, "‹ Previous")
                self.shoot(driver, "30-mailboxes-first-page")
                driver.find_element(By.LINK_TEXT, "Next ›").click()
                self.wait_for_text(driver, everything[50])
                assert shown() == everything[50:100], shown()
                self.shoot(driver, "31-mailboxes-second-page")
                driver.find_element(By.LINK_TEXT, "‹ Previous").click()
                self.wait_for_text(driver, everything[0])
                assert shown() == first, shown()
                driver.find_element(By.LINK_TEXT, "Next ›").click()
                self.wait_for_text(driver, everything[50])
                driver.find_element(By.LINK_TEXT, "Next ›").click()
                self.wait_for_text(driver, everything[100])
                assert shown() == everything[100:150], shown()
                assert not driver.find_elements(By.LINK_TEXT, "Next ›"), ("the last page has no Next", driver.current_url, len(everything),
                                                                          driver.page_source[driver.page_source.find("pager") - 200:])
                search = driver.find_element(By.CSS_SELECTOR, "form.search input[name=q]")
                search.send_keys("BOX11")
                driver.find_element(By.CSS_SELECTOR, "form.search button").click()
                self.wait_for_url(driver, "?q=BOX11")
                self.wait_for_texts(driver, "ul.list span.address", [f"box{n:03d}@paging.test" for n in range(110, 119)])
                self.shoot(driver, "32-mailboxes-search")
                driver.get(base + "/?q=nobody")
                self.wait_for_text(driver, "No mailbox of yours begins with")

                driver.get(base + "/organizations/Paging%20Ltd/members")
                self.wait_for_text(driver, "Members of Paging Ltd")
                logins = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "table td span.muted")]
                assert len(logins) == 50 and logins[0] == "member00@corp.test", logins
                driver.find_element(By.LINK_TEXT, "Next ›").click()
                self.wait_for_text(driver, "pia@corp.test")
                search = driver.find_element(By.CSS_SELECTOR, "form.search input[name=q]")
                search.send_keys("pi")
                driver.find_element(By.CSS_SELECTOR, "form.search button").click()
                self.wait_for_url(driver, "members?q=pi")
                self.wait_for_texts(driver, "table td span.muted", ["pia@corp.test"])
                self.shoot(driver, "33-members-search")
            finally:
                driver.quit()

    def test_the_web_manager_in_a_real_browser(self):
        from harness import free_port
        from selenium.webdriver.common.by import By
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        self.example()  # Example Ltd and its service "example" serving example.org, and the mailbox alice@example.org
        self.d.ok("mailbox", "add", "wes@example.org")
        path = os.path.join(self.tmp, "wes.passwd")
        with open(path, "w") as f:
            f.write("wes@example.org:{PLAIN}wes-old-generic\n")
        self.d.cli("import", "passwd-file", path)
        password_file = os.path.join(self.tmp, "wendy.password")
        with open(password_file, "w") as f:
            f.write("wendy-account-password\n")
        self.d.ok("user", "add", "wendy@corp.test", "--name", "Wendy", "--password-file", password_file)
        self.d.ok("member", "set", "Example Ltd", "wendy@corp.test", "--role", "collaborator")
        self.d.ok("access", "grant", "wes@example.org", "wendy@corp.test", "--permissions", "devices")
        self.secrets.append("wendy-account-password")
        with open(password_file, "w") as f:
            f.write("olaf-account-password\n")
        self.d.ok("user", "add", "olaf@corp.test", "--name", "Olaf", "--password-file", password_file)
        self.d.ok("member", "set", "Example Ltd", "olaf@corp.test", "--role", "administrator")
        self.secrets.append("olaf-account-password")

        with self.restarted_with(dict(POSTERN_WEB_LISTEN=f"127.0.0.1:{port}", POSTERN_WEB_DIRECTORY=os.path.join(REPO, "web"),
                                      POSTERN_WEB_IMAP_HOST="imap.example.org", POSTERN_WEB_SMTP_HOST="smtp.example.org")):
            driver, admin = self.browser(), None
            try:
                driver.get(base + "/")
                assert driver.current_url.endswith("/signin"), driver.current_url
                self.shoot(driver, "01-signin")
                driver.find_element(By.NAME, "login").send_keys("wendy@corp.test")
                driver.find_element(By.NAME, "password").send_keys("wrong password")
                driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
                self.wait_for_text(driver, "Wrong login or password")
                self.shoot(driver, "02-signin-refused")
                driver.find_element(By.NAME, "password").send_keys("wendy-account-password")
                driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
                self.wait_for_text(driver, "Your mailboxes")
                assert "wes@example.org" in driver.page_source, driver.page_source[:500]
                self.shoot(driver, "03-mailboxes")
                driver.find_element(By.LINK_TEXT, "Devices").click()
                self.wait_for_text(driver, "Add a device")
                assert "generic password" in driver.page_source
                disabled = driver.find_element(By.CSS_SELECTOR, "button[disabled]")
                assert "cannot be shown or changed" in disabled.get_attribute("title")
                self.shoot(driver, "04-devices")

                driver.find_element(By.NAME, "name").send_keys("Phone")
                driver.find_element(By.CSS_SELECTOR, "form[action$='/devices'] button[type=submit]").click()
                self.wait_for_text(driver, "it is shown only on this page")
                secret = driver.find_element(By.ID, "copy").get_attribute("data-secret")
                assert len(secret) == 27 and "imap.example.org" in driver.page_source, secret
                self.secrets.append(secret)
                self.shoot(driver, "05-new-device-password")
                self.expect_smtp("wes@example.org", secret, 235, mechs=("PLAIN",))

                # The Apple profile is in the page itself (a data: link): a property list with the account.
                href = driver.find_element(By.ID, "profile").get_attribute("href")
                assert href.startswith("data:application/x-apple-aspen-config;base64,"), href[:60]
                profile = plistlib.loads(base64.b64decode(href.split(",", 1)[1]))
                account = profile["PayloadContent"][0]
                assert profile["PayloadType"] == "Configuration" and account["PayloadType"] == "com.apple.mail.managed"
                assert (account["IncomingMailServerHostName"], account["IncomingMailServerPortNumber"]) == ("imap.example.org", 993)
                assert (account["OutgoingMailServerHostName"], account["OutgoingMailServerPortNumber"]) == ("smtp.example.org", 587)
                assert account["IncomingPassword"] == secret and account["EmailAddress"] == "wes@example.org"

                # Thunderbird's autoconfig, by address and by the autoconfig host name.
                def autoconfig(path, host=None):
                    request = urllib.request.Request(base + path, headers={"Host": host} if host else {})
                    try:
                        with urllib.request.urlopen(request, timeout=10) as r:
                            return r.status, ElementTree.fromstring(r.read())
                    except urllib.error.HTTPError as e:
                        return e.code, None
                status, doc = autoconfig("/mail/config-v1.1.xml?emailaddress=wes%40example.org")
                assert status == 200, status
                incoming, outgoing = doc.find(".//incomingServer"), doc.find(".//outgoingServer")
                assert (incoming.findtext("hostname"), incoming.findtext("port"), incoming.findtext("socketType")) == ("imap.example.org", "993", "SSL")
                assert (outgoing.findtext("hostname"), outgoing.findtext("port"), outgoing.findtext("socketType")) == ("smtp.example.org", "587", "STARTTLS")
                assert doc.findtext(".//domain") == "example.org"
                assert autoconfig("/.well-known/autoconfig/mail/config-v1.1.xml", host="autoconfig.example.org")[0] == 200
                assert autoconfig("/mail/config-v1.1.xml?emailaddress=x%40elsewhere.test")[0] == 404

                driver.find_element(By.LINK_TEXT, "Done").click()
                self.wait_for_text(driver, "Add a device")
                assert secret not in driver.page_source, "the password is never shown again"
                driver.find_element(By.XPATH, "//tr[td/strong[text()='Phone']]//button[text()='Change password']").click()
                self.wait_for_text(driver, "New password for Phone")
                rotated = driver.find_element(By.ID, "copy").get_attribute("data-secret")
                self.secrets.append(rotated)
                self.shoot(driver, "06-changed-password")
                self.expect_smtp("wes@example.org", secret, 535, mechs=("PLAIN",))
                self.expect_smtp("wes@example.org", rotated, 235, mechs=("PLAIN",))

                # Forms need this session's token: a post with the cookie but no token changes nothing.
                driver.find_element(By.LINK_TEXT, "Done").click()
                self.wait_for_text(driver, "Add a device")
                cookie = driver.get_cookie("postern_session")
                assert cookie["httpOnly"] and cookie["sameSite"] == "Strict", cookie
                token = driver.find_element(By.NAME, "csrf").get_attribute("value")

                def post(path, fields):
                    data = urllib.parse.urlencode(fields).encode()
                    request = urllib.request.Request(base + path, data=data, method="POST",
                                                     headers={"Cookie": f"postern_session={cookie['value']}"})
                    try:
                        with urllib.request.urlopen(request, timeout=10) as r:
                            return r.status
                    except urllib.error.HTTPError as e:
                        return e.code
                before = len(self.d.ok("device", "list", "wes@example.org")["devices"])
                assert post("/mailboxes/wes@example.org/devices", {"name": "Forged"}) == 403
                assert post("/mailboxes/wes@example.org/devices", {"name": "Forged", "csrf": "0" * 36}) == 403
                assert len(self.d.ok("device", "list", "wes@example.org")["devices"]) == before

                driver.find_element(By.LINK_TEXT, "Disconnect all devices…").click()
                self.wait_for_text(driver, "Each will need a new password")
                assert "Phone" in driver.page_source and "generic password" in driver.page_source
                self.shoot(driver, "07-disconnect-all-confirm")
                driver.find_element(By.CSS_SELECTOR, "button.danger").click()
                self.wait_for_text(driver, "Every device was disconnected")
                self.shoot(driver, "08-all-disconnected")
                self.expect_smtp("wes@example.org", rotated, 535, mechs=("PLAIN",))
                self.expect_smtp("wes@example.org", "wes-old-generic", 535, mechs=("PLAIN",))

                # An administrator, in a browser of his own, takes "devices" away on the permissions page.
                admin = self.browser()
                admin.get(base + "/signin")
                admin.find_element(By.NAME, "login").send_keys("olaf@corp.test")
                admin.find_element(By.NAME, "password").send_keys("olaf-account-password")
                admin.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
                self.wait_for_text(admin, "Your mailboxes")
                admin.get(base + "/mailboxes/wes@example.org/access")
                self.wait_for_text(admin, "Permissions on wes@example.org")
                card = admin.find_element(By.XPATH, "//section[h2[starts-with(normalize-space(.), 'wendy@corp.test')]]")
                card.find_element(By.CSS_SELECTOR, "input[value=devices]").click()
                card.find_element(By.CSS_SELECTOR, "input[value=history]").click()
                card.find_element(By.NAME, "password").send_keys("olaf-account-password")
                card.find_element(By.CSS_SELECTOR, "button[value=save]").click()
                self.wait_for_text(admin, "wendy@corp.test: history.")
                assert self.access_of("wes@example.org", "wendy@corp.test") == ["history"]
                # Another session's token (the administrator's) does not fit wendy's session.
                assert post("/mailboxes/wes@example.org/access", {"login": "wendy@corp.test", "permissions[]": "devices", "do": "save",
                                                                  "csrf": admin.find_element(By.NAME, "csrf").get_attribute("value")}) == 403
                assert self.access_of("wes@example.org", "wendy@corp.test") == ["history"]

                # Wendy's next page load: no devices menu, and the server refuses.
                driver.get(base + "/")
                assert "wes@example.org" in driver.page_source and "Devices" not in driver.page_source
                self.shoot(driver, "09-no-devices-menu")
                driver.find_element(By.LINK_TEXT, "History").click()
                self.wait_for_text(driver, "Action history of wes@example.org")
                assert "device.disconnect_all" in driver.page_source and "wendy@corp.test" in driver.page_source
                self.shoot(driver, "09b-history")
                assert post("/mailboxes/wes@example.org/devices", {"name": "Late", "csrf": token}) == 403
                driver.get(base + "/mailboxes/wes@example.org/devices")
                assert "Not allowed" in driver.page_source
                self.shoot(driver, "10-not-allowed")
                driver.get(base + "/")
                driver.find_element(By.CSS_SELECTOR, "header button.link").click()
                self.wait_for_url(driver, "/signin")
                driver.get(base + "/mailboxes/wes@example.org/history")
                self.wait_for_url(driver, "/signin")
                driver.quit()

                # The administrator: the members page, a role change confirmed with his password, a removal preview.
                driver = admin
                driver.get(base + "/")
                self.wait_for_text(driver, "Your mailboxes")
                driver.find_element(By.LINK_TEXT, "Members").click()
                self.wait_for_text(driver, "Members of Example Ltd")
                self.shoot(driver, "11-members")
                row = driver.find_element(By.XPATH, "//tr[td/span[text()='wendy@corp.test']]")
                from selenium.webdriver.support.ui import Select
                Select(row.find_element(By.NAME, "role")).select_by_value("external")
                row.find_element(By.NAME, "password").send_keys("olaf-account-password")
                row.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
                self.wait_for_text(driver, "wendy@corp.test is now external")
                self.shoot(driver, "12-role-changed")
                assert any(m["login"] == "wendy@corp.test" and m["role"] == "external"
                           for m in self.d.ok("member", "list", "Example Ltd")["members"])
                driver.find_element(By.XPATH, "//tr[td/span[text()='wendy@corp.test']]//a[text()='Remove…']").click()
                self.wait_for_text(driver, "Remove wendy@corp.test from Example Ltd?")
                assert "wes@example.org" in driver.page_source
                self.shoot(driver, "13-remove-member-preview")

                # The mailbox's permissions: eleven boxes per user, saved with the administrator's password.
                driver.get(base + "/")
                driver.find_element(By.XPATH, "//li[span[text()='wes@example.org']]//a[text()='Permissions']").click()
                self.wait_for_text(driver, "Permissions on wes@example.org")
                card = driver.find_element(By.XPATH, "//section[h2[starts-with(normalize-space(.), 'wendy@corp.test')]]")
                boxes = card.find_elements(By.NAME, "permissions[]")
                assert len(boxes) == 11, len(boxes)
                assert [b.get_attribute("value") for b in boxes if b.is_selected()] == ["history"]
                self.shoot(driver, "14-permissions")
                card.find_element(By.CSS_SELECTOR, "input[value=devices]").click()
                card.find_element(By.CSS_SELECTOR, "input[value=folders]").click()
                card.find_element(By.CSS_SELECTOR, "button[value=save]").click()
                self.wait_for_text(driver, "needs your own account password")
                assert self.access_of("wes@example.org", "wendy@corp.test") == ["history"], "refused: unchanged"
                card = driver.find_element(By.XPATH, "//section[h2[starts-with(normalize-space(.), 'wendy@corp.test')]]")
                card.find_element(By.CSS_SELECTOR, "input[value=devices]").click()
                card.find_element(By.NAME, "password").send_keys("olaf-account-password")
                card.find_element(By.CSS_SELECTOR, "button[value=save]").click()
                self.wait_for_text(driver, "wendy@corp.test: devices, history.")
                self.shoot(driver, "15-permissions-saved")
                assert self.access_of("wes@example.org", "wendy@corp.test") == ["devices", "history"]

                # The mail service's global configuration, then applied to everyone.
                driver.find_element(By.LINK_TEXT, "change it").click()
                self.wait_for_text(driver, "Global configuration of example")
                form = driver.find_element(By.CSS_SELECTOR, "form:has(button[value=save])")
                for name in ("devices", "history", "signatures"):
                    box = form.find_element(By.CSS_SELECTOR, f"input[value={name}]")
                    if box.is_selected() != (name != "devices"):
                        box.click()
                form.find_element(By.CSS_SELECTOR, "button[value=save]").click()
                self.wait_for_text(driver, "is now: signatures, history")
                self.shoot(driver, "16-global-configuration")
                assert self.d.ok("defaults", "show", "example")["permissions"] == ["signatures", "history"]
                assert self.access_of("wes@example.org", "wendy@corp.test") == ["devices", "history"], "saving applies nothing"
                apply = driver.find_element(By.CSS_SELECTOR, "form:has(button[value=apply])")
                apply.find_element(By.NAME, "password").send_keys("olaf-account-password")
                apply.find_element(By.CSS_SELECTOR, "button[value=apply]").click()
                self.wait_for_text(driver, "The global configuration was applied")
                self.shoot(driver, "17-global-configuration-applied")
                assert self.access_of("wes@example.org", "wendy@corp.test") == ["signatures", "history"]

                # Where wes's mail goes: an alias and a redirection on their pages.
                driver.get(base + "/")
                driver.find_element(By.XPATH, "//li[span[text()='wes@example.org']]//a[text()='Aliases']").click()
                self.wait_for_text(driver, "Aliases of wes@example.org")
                driver.find_element(By.CSS_SELECTOR, "form[action$='/aliases'] input[name=alias]").send_keys("Hello")
                driver.find_element(By.CSS_SELECTOR, "form[action$='/aliases'] button[type=submit]").click()
                self.wait_for_text(driver, "hello@example.org now delivers to wes@example.org")
                driver.find_element(By.CSS_SELECTOR, "form[action$='/aliases'] input[name=alias]").send_keys("alice")
                driver.find_element(By.CSS_SELECTOR, "form[action$='/aliases'] button[type=submit]").click()
                self.wait_for_text(driver, "it is the mailbox alice@example.org")
                self.shoot(driver, "18-aliases")
                assert [a["address"] for a in self.d.ok("alias", "list", "wes@example.org")["aliases"]] == ["hello@example.org"]
                driver.get(base + "/mailboxes/wes@example.org/redirection")
                self.wait_for_text(driver, "it is not redirected")
                driver.find_element(By.NAME, "targets").send_keys("alice@example.org\nwes.elsewhere@outside.test")
                driver.find_element(By.NAME, "keepCopy").click()
                driver.find_element(By.CSS_SELECTOR, "button.primary").click()
                self.wait_for_text(driver, "now goes to alice@example.org, wes.elsewhere@outside.test, with a copy kept")
                self.shoot(driver, "19-redirection")
                shown = self.d.ok("redirect", "show", "wes@example.org")["redirection"]
                assert shown == {"mailbox": "wes@example.org", "targets": ["alice@example.org", "wes.elsewhere@outside.test"], "keepCopy": True}, shown
                driver.find_element(By.CSS_SELECTOR, "form[action$='/redirection/clear'] button").click()
                self.wait_for_text(driver, "lands in it again")
                assert self.d.ok("redirect", "show", "wes@example.org")["redirection"] is None
            finally:
                for browser in {id(b): b for b in (driver, admin) if b}.values():
                    try:
                        browser.quit()
                    except Exception:
                        pass
