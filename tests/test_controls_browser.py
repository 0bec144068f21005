"""In real headless Chromium, at a laptop's 1440x900: the sidebar's run chips at the largest font wrap only
between words (each whole and inside the picker, a short name on one line), and Compare's settings table shows
every row without a scroll bar of its own."""

from __future__ import annotations

from .browser import chromium, data_root, streamlit_server
from .conftest import MNIST_DIR
from .test_train_page import LAPTOP, inside, needs_chromium

# Each line of a chip's name, as the browser laid it out: the characters grouped by their line box's top.
LINES_JS = """chip => {
    const text = chip.querySelector('span').firstChild;
    const range = document.createRange();
    const lines = [];
    let top = null;
    for (let k = 0; k < text.length; k++) {
        range.setStart(text, k);
        range.setEnd(text, k + 1);
        const box = range.getClientRects()[0];
        if (!box) continue;
        if (top === null || box.top > top + 2) { lines.push(''); top = box.top; }
        lines[lines.length - 1] += text.data[k];
    }
    return lines;
}"""


@needs_chromium
def test_run_chips_wrap_between_words_at_large_fonts_and_compare_shows_every_setting(remedies_store, tmp_path):
    with streamlit_server(remedies_store, data_root(tmp_path, MNIST_DIR)) as url, chromium() as browser:
        page = browser.new_page(viewport=LAPTOP)
        page.goto(f"{url}/compare?runs=1,2,3,4,5,6,7")
        sidebar = page.locator("[data-testid=stSidebar]")
        sidebar.get_by_text("Large fonts (for talks)").click()
        table = page.locator("[data-testid=stDataFrame]").first
        table.wait_for(timeout=60000)
        page.wait_for_function("getComputedStyle(document.querySelector('p')).fontSize === '22px'", timeout=30000)
        page.wait_for_timeout(1000)  # the chips laid out again at the new size
        picker = sidebar.locator("[data-testid=stMultiSelect]")
        chips = picker.locator("[data-tag]")
        assert chips.count() == 7
        box = picker.bounding_box()
        for k in range(chips.count()):
            chip = chips.nth(k)
            name = chip.get_attribute("aria-label")
            lines = chip.evaluate(LINES_JS)
            assert "".join(lines) == name, (name, lines)  # whole: no ellipsis
            for line in lines[:-1]:  # a line ends at a space or after a hyphen, never inside a word
                assert line.endswith((" ", "-")), (name, lines)
            if len(name) <= 15:  # "1 · blog-rnn" fits the picker's width: it was broken after "blog-"
                assert len(lines) == 1, (name, lines)
            assert inside(chip.bounding_box(), box), name
        for button in ("Clear all", "Remove 1 · blog-rnn"):
            assert inside(picker.get_by_role("button", name=button).first.bounding_box(), box), button
        sidebar.screenshot(path=str(tmp_path / "chips.png"))
        # Compare's table: every row drawn, none behind a scroll edge of the table's own
        scroller = table.locator(".dvn-scroller").first
        heights = scroller.evaluate("e => [e.scrollHeight, e.clientHeight]")
        assert heights[0] <= heights[1] + 1, heights
        rows = table.locator("[role=row]").count()  # the grid's accessible rows: the header and every setting
        assert rows >= 12, rows  # more than the ten that Streamlit's default height shows
        table.screenshot(path=str(tmp_path / "settings.png"))
