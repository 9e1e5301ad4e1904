"""Phone-sized pages in Chromium: the sidebar and the navigation are drawers behind real
buttons (focus moves in and back, Escape closes), lists stack as "label: value" rows, a
table too wide scrolls in its own keyboard-focusable box, and long values are cut with a
Copy button that copies the whole value."""

import contextlib

import docker.errors
import pytest
from playwright.sync_api import expect

from tests.engine import TEST_LABELS, unique_name, wait_for

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}


def wait_live(page):
    expect(page.locator("body")).to_have_attribute("data-live", "connected")


def focused_inside(page, selector: str) -> bool:
    return page.evaluate(
        "(selector) => document.querySelector(selector).contains(document.activeElement)",
        selector,
    )


@pytest.fixture
def long_volume(docker_api):
    name = unique_name("dwt-narrow-volume") + "-" + "v" * 70
    docker_api.create_volume(name, labels=TEST_LABELS)
    yield name
    with contextlib.suppress(docker.errors.APIError):
        docker_api.remove_volume(name, force=True)


def test_the_sidebar_is_a_drawer_behind_the_containers_button(admin_page, portal, make_container):
    page = admin_page
    container = make_container()
    page.set_viewport_size(PHONE)
    page.goto(f"{portal.url}/engines/local/containers/{container['Id']}/")
    wait_live(page)
    toggle = page.get_by_role("button", name="Containers", exact=True)
    sidebar = page.locator("#container-sidebar")
    expect(toggle).to_have_attribute("aria-controls", "container-sidebar")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(sidebar).to_be_hidden()

    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(sidebar).to_be_visible()
    # Focus moved into the drawer, the sidebar's own items are there to pick.
    assert focused_inside(page, "#container-sidebar")
    expect(sidebar.locator(f'[data-container-id="{container["Id"]}"]')).to_be_visible()

    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(sidebar).to_be_hidden()
    expect(toggle).to_be_focused()

    # A click on the page beside the open drawer closes it too.
    toggle.click()
    expect(sidebar).to_be_visible()
    page.mouse.click(PHONE["width"] - 10, PHONE["height"] - 10)
    expect(sidebar).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")

    # On a laptop there is no drawer: the sidebar is a column again and the button is gone.
    page.set_viewport_size(LAPTOP)
    expect(sidebar).to_be_visible()
    expect(toggle).to_be_hidden()


def test_the_top_navigation_is_a_menu_behind_the_menu_button(admin_page, portal):
    page = admin_page
    page.set_viewport_size(PHONE)
    page.goto(f"{portal.url}/engines/local/containers/")
    wait_live(page)
    menu = page.get_by_role("button", name="Menu", exact=True)
    nav = page.locator("#topnav")
    expect(menu).to_have_attribute("aria-controls", "topnav")
    expect(nav).to_be_hidden()
    expect(page.get_by_role("button", name="Log out")).to_be_hidden()

    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="Volumes")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(nav.get_by_role("link", name="Dashboard")).to_be_focused()
    # Every link of the menu is inside the window, none cut off at the right.
    rights = nav.locator("a").evaluate_all(
        "links => links.map(a => a.getBoundingClientRect().right)"
    )
    assert rights and max(rights) <= PHONE["width"], rights

    # Opening one drawer closes the other.
    page.get_by_role("button", name="Containers", exact=True).click()
    expect(nav).to_be_hidden()
    expect(menu).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Escape")

    menu.click()
    page.keyboard.press("Tab")  # Escape works wherever focus is inside the menu
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()
    expect(menu).to_be_focused()

    nav_links_wide = page.locator("#topnav a")
    page.set_viewport_size(LAPTOP)
    expect(nav_links_wide.first).to_be_visible()
    expect(menu).to_be_hidden()


CELL_BOXES = """row => {
  const box = (label) => {
    const cell = row.querySelector(`td[data-label="${label}"]`);
    const rect = cell && cell.getBoundingClientRect();
    return rect && rect.width && rect.height
      ? { x: rect.x, y: rect.y, width: rect.width, height: rect.height }
      : null;
  };
  const name = box("Name"), image = box("Image");
  return name && image ? [name, image] : null;
}"""


def test_on_a_phone_list_rows_stack_and_wide_tables_scroll_in_a_focusable_box(
    admin_page, portal, make_container
):
    page = admin_page
    container = make_container(name=unique_name("dwt-narrow"))
    page.set_viewport_size(PHONE)
    page.goto(f"{portal.url}/engines/local/containers/?q={container['Name'].lstrip('/')}")
    wait_live(page)
    row = page.locator(f'#container-rows [data-container-id="{container["Id"]}"]')
    expect(row).to_be_visible()  # the portal's model has seen it (events reach it a bit later)
    # Both cells measured at once, in the page: a live update may replace the row between
    # two separate measurements (then one of them finds nothing).
    name_cell, image_cell = wait_for(lambda: row.evaluate(CELL_BOXES), message="the row laid out")
    # One above the other, each the row's width: not squeezed side by side into columns.
    assert image_cell["y"] >= name_cell["y"] + name_cell["height"] - 1, (name_cell, image_cell)
    assert image_cell["width"] > PHONE["width"] / 2, image_cell
    label = row.locator('td[data-label="Image"]').evaluate(
        "td => getComputedStyle(td, '::before').content"
    )
    assert label == '"Image: "', label

    # The networks table is wider than a phone: it scrolls inside its own box, which a
    # keyboard can focus, and the page itself does not.
    page.goto(f"{portal.url}/engines/local/networks/")
    wait_live(page)
    table = page.locator("table.networks-table")
    expect(table).to_have_attribute("tabindex", "0")
    assert table.evaluate("t => t.scrollWidth > t.clientWidth")
    assert page.evaluate("() => document.documentElement.scrollWidth <= innerWidth")
    table.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.querySelector('table.networks-table').scrollLeft > 0")
    # Back on a laptop it fits and leaves the tab order.
    page.set_viewport_size(LAPTOP)
    expect(table).not_to_have_attribute("tabindex", "0")


def test_a_long_value_is_cut_with_a_copy_button_that_copies_all_of_it(
    admin_page, portal, long_volume
):
    page = admin_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.set_viewport_size(LAPTOP)
    page.goto(f"{portal.url}/engines/local/volumes/?q={long_volume}")
    wait_live(page)
    row = page.locator(f'[data-volume-row][data-volume-name="{long_volume}"]')
    expect(row).to_be_visible()
    shown = row.locator("td").first.locator(".truncate")
    expect(shown).to_have_attribute("title", long_volume)
    assert shown.evaluate("el => el.scrollWidth > el.clientWidth"), "the name is not cut"
    # The row's actions are on screen, not pushed off to the right by the long values.
    remove = row.get_by_role("link", name="Remove")
    assert remove.bounding_box()["x"] + remove.bounding_box()["width"] <= LAPTOP["width"]

    copy = row.get_by_role("button", name=f"Copy volume name {long_volume}")
    copy.click()
    expect(copy).to_have_text("Copied")
    expect(page.locator("#copy-announcer")).to_have_text("Copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == long_volume
    expect(copy).to_have_text("Copy", timeout=5000)

    # Served over plain http to another machine there is no navigator.clipboard: the
    # fallback copies all the same.
    page.evaluate("() => navigator.clipboard.writeText('something else')")
    page.evaluate("() => Object.defineProperty(navigator, 'clipboard', {value: undefined})")
    mountpoint = row.locator('td[data-label="Mountpoint"] button[data-copy]')
    expected = mountpoint.get_attribute("data-copy")
    assert long_volume in expected
    mountpoint.click()
    expect(mountpoint).to_have_text("Copied")
    reader = page.context.new_page()
    try:
        reader.goto(f"{portal.url}/engines/local/volumes/")
        assert reader.evaluate("() => navigator.clipboard.readText()") == expected
    finally:
        reader.close()
