"""The browser itself: also the test that reports why, when the browser tests cannot run at all."""


def test_chromium_starts(browser):
    assert browser.is_connected()
    assert int(browser.version.split(".")[0]) >= 120
