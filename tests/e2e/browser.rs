//! A person's first visit, in headless Chromium: browse, search as you type, open a container,
//! read the API docs offline. Leaves screenshots under target/tmp/screenshots.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator, key::Key};
use serde_json::json;

use crate::support::*;

/// ChromeDriver on a free port, killed on drop.
pub(crate) struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    pub(crate) async fn start() -> Self {
        let port = free_port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is missing: run scripts/test, which installs chromium and chromium-driver");
        let driver = Self { child, port };
        wait_until_up(&format!("http://127.0.0.1:{port}/status")).await;
        driver
    }

    pub(crate) async fn client(&self, profile: &std::path::Path) -> Client {
        self.client_with(profile, true).await
    }

    /// A browser with JavaScript on or off (Chrome's content setting, as a user would turn it
    /// off).
    pub(crate) async fn client_with(&self, profile: &std::path::Path, javascript: bool) -> Client {
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
            &format!("--user-data-dir={}", profile.display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": "/usr/bin/chromium",
                "args": args,
                "prefs": {
                    "profile.managed_default_content_settings.javascript": if javascript { 1 } else { 2 }
                },
            }),
        );
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("cannot start Chromium through chromedriver")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Types `text` into the element `css` finds.
pub(crate) async fn type_into(browser: &Client, css: &str, text: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .send_keys(text)
        .await
        .unwrap();
}

/// Clicks the element `css` finds.
pub(crate) async fn click(browser: &Client, css: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .click()
        .await
        .unwrap();
}

pub(crate) async fn save_screenshot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG image");
    let path = screenshot_dir().join(name);
    std::fs::write(&path, png).unwrap();
    eprintln!("screenshot: {}", path.display());
}

#[tokio::test]
async fn a_visitor_browses_searches_and_opens_a_container() {
    let site = Site::new();
    site.seed(60);
    let server = site.serve().await;
    let driver = Driver::start().await;
    let profile = tempfile::TempDir::new().unwrap();
    let browser = driver.client(profile.path()).await;

    // The catalogue: 54 public containers, 24 a page, newest first.
    browser.goto(&site.url("/")).await.unwrap();
    assert_eq!(browser.title().await.unwrap(), "Catalogue · Bioshadock");
    let lead = browser
        .find(Locator::Css(".lead"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(lead.contains("54 public containers"), "{lead}");
    let cards = browser.find_all(Locator::Css(".card")).await.unwrap();
    assert_eq!(cards.len(), 24);
    let first = cards[0].text().await.unwrap();
    assert!(first.contains("genomics-core/samtools"), "{first}");
    save_screenshot(&browser, "catalogue.png").await;

    let first_page = browser.current_url().await.unwrap().to_string();
    browser
        .find(Locator::LinkText("Older →"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    left(&browser, &first_page).await;
    let pager = browser
        .find(Locator::Css(".pager-where"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(pager, "Page 2 of 3");

    // Search as you type: suggestions appear under the box before any submit, for the start
    // of a name as for a whole one, and follow the typing.
    let input = browser.find(Locator::Id("search-input")).await.unwrap();
    input.send_keys("samt").await.unwrap();
    let suggestion = browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//*[@id='search-suggestions']//a[contains(., 'samtools')]",
        ))
        .await
        .unwrap();
    assert!(suggestion.text().await.unwrap().contains("/samtools"));
    input.clear().await.unwrap();
    input.send_keys("bwa").await.unwrap();
    let suggestion = browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//*[@id='search-suggestions']//a[contains(., 'bwa')]",
        ))
        .await
        .unwrap();
    let suggested = suggestion.text().await.unwrap();
    assert!(suggested.contains("bwa"), "{suggested}");
    save_screenshot(&browser, "suggestions.png").await;

    // Submitting shows the results page (Enter with no suggestion selected submits the form).
    input.send_keys(&Key::Enter.to_string()).await.unwrap();
    let count = browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("result-count"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(count.contains("match bwa"), "{count}");
    let results = browser.find_all(Locator::Css(".card")).await.unwrap();
    assert!(!results.is_empty());
    let top = results[0].text().await.unwrap();
    assert!(top.contains("/bwa"), "exact name first: {top}");

    // The container page.
    results[0]
        .find(Locator::Css("a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let heading = browser
        .wait()
        .for_element(Locator::Css(".container-head h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(heading.ends_with("/bwa"), "{heading}");
    let pull = browser
        .find(Locator::Id("pull-command"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        pull.starts_with(&format!("docker pull 127.0.0.1:5000/{heading}:")),
        "{pull}"
    );
    let rows = browser
        .find_all(Locator::Css("table.tags tbody tr"))
        .await
        .unwrap();
    assert!(rows.len() >= 2, "several tags");
    let description = browser
        .find(Locator::Css(".description"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        description.contains("Synthetic demo container"),
        "{description}"
    );
    save_screenshot(&browser, "container.png").await;

    // The API documentation renders with no network.
    browser.goto(&site.url("/api/docs/")).await.unwrap();
    let title = browser
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css(".swagger-ui .info .title"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(title.contains("Bioshadock API"), "{title}");
    save_screenshot(&browser, "api-docs.png").await;

    browser.close().await.unwrap();
    server.stop();
}

#[tokio::test]
async fn the_facet_sidebar_narrows_a_search_without_javascript() {
    let site = Site::new();
    site.seed(60);
    let server = site.serve().await;
    let driver = Driver::start().await;
    let profile = tempfile::TempDir::new().unwrap();
    let browser = driver.client_with(profile.path(), false).await;
    // The page's scripts are off: every step below is a plain link.
    browser.goto(&site.url("/search?q=")).await.unwrap();
    let topic = browser
        .find(Locator::Css("#facet-topic li a"))
        .await
        .expect("a topic facet");
    let label = topic
        .find(Locator::Css(".facet-label"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let count = topic
        .find(Locator::Css(".facet-count"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    save_screenshot(&browser, "search-facets.png").await;
    let before = browser.current_url().await.unwrap().to_string();
    topic.click().await.unwrap();
    left(&browser, &before).await;
    let url = browser.current_url().await.unwrap().to_string();
    assert!(url.contains("topic%3Atopic_"), "{url}");
    let matched = text_of(&browser, "#result-count").await;
    assert!(
        matched.starts_with(&format!("{count} container")),
        "the facet's count ({count} for {label}) is what the filter finds: {matched}"
    );
    let active = text_of(&browser, "#facet-topic li.active a").await;
    assert!(active.contains(&label), "{active}");

    // The order links keep the filter.
    let before = browser.current_url().await.unwrap().to_string();
    click(&browser, "#sorts a[href*='sort=pulls']").await;
    left(&browser, &before).await;
    let url = browser.current_url().await.unwrap().to_string();
    assert!(
        url.contains("sort=pulls") && url.contains("topic%3Atopic_"),
        "{url}"
    );
    assert_eq!(text_of(&browser, "#result-count").await, matched);

    // The active value's link takes the filter away again.
    let before = browser.current_url().await.unwrap().to_string();
    click(&browser, "#facet-topic li.active a").await;
    left(&browser, &before).await;
    let url = browser.current_url().await.unwrap().to_string();
    assert!(
        !url.contains("topic%3A") && url.contains("sort=pulls"),
        "{url}"
    );
    server.stop();
}

/// Waits until the browser is at `path` (a form's navigation has committed).
async fn arrive(browser: &Client, path: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while browser.current_url().await.unwrap().path() != path {
        assert!(std::time::Instant::now() < deadline, "never reached {path}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the browser has left `page` (a click's navigation has committed).
async fn left(browser: &Client, page: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while browser.current_url().await.unwrap().as_str() == page {
        assert!(std::time::Instant::now() < deadline, "still on {page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The text of the first element matching `css`, waiting for it to appear: a form's submit
/// returns before the next page has loaded.
pub(crate) async fn text_of(browser: &Client, css: &str) -> String {
    browser
        .wait()
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_user_creates_a_container_makes_it_private_and_it_vanishes_for_others() {
    let site = Site::new();
    site.seed(3);
    site.add_user("alice", "correct horse battery");
    let server = site.serve().await;
    let driver = Driver::start().await;
    let profile = tempfile::TempDir::new().unwrap();
    let browser = driver.client(profile.path()).await;

    // Sign in.
    browser.goto(&site.url("/login")).await.unwrap();
    let form = browser
        .form(Locator::Css("form[action='/login']"))
        .await
        .unwrap();
    form.set_by_name("name", "alice").await.unwrap();
    form.set_by_name("password", "correct horse battery")
        .await
        .unwrap();
    form.submit().await.unwrap();
    assert_eq!(text_of(&browser, "#nav-user").await, "alice");

    // Create a public container.
    browser.goto(&site.url("/new")).await.unwrap();
    let form = browser
        .form(Locator::Css("form[action='/new']"))
        .await
        .unwrap();
    form.set_by_name("name", "variant-caller").await.unwrap();
    form.set_by_name("description", "Calls **variants**.")
        .await
        .unwrap();
    form.submit().await.unwrap();
    let heading = text_of(&browser, ".container-head h1").await;
    assert_eq!(heading, "alice/variant-caller");
    save_screenshot(&browser, "created.png").await;

    // An anonymous visitor (a second, cookie-less browser) sees it.
    let anonymous_profile = tempfile::TempDir::new().unwrap();
    let anonymous = driver.client(anonymous_profile.path()).await;
    anonymous.goto(&site.url("/")).await.unwrap();
    let first_card = text_of(&anonymous, ".card").await;
    assert!(first_card.contains("alice/variant-caller"), "{first_card}");

    // Make it private in its settings.
    browser
        .find(Locator::Id("settings-link"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait()
        .for_element(Locator::Css("input[name='visibility'][value='private']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .find(Locator::Css("button[value='save']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Let the save land before leaving: a navigation started now could lose to the form's
    // redirect, which arrives later.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while browser.current_url().await.unwrap().query() != Some("saved=1") {
        assert!(
            std::time::Instant::now() < deadline,
            "the settings were not saved"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    browser
        .goto(&site.url("/r/alice/variant-caller"))
        .await
        .unwrap();
    let heading = text_of(&browser, ".container-head h1").await;
    assert!(
        heading.contains("private"),
        "the owner still sees it: {heading}"
    );
    save_screenshot(&browser, "private.png").await;

    // Gone for the anonymous visitor: not in the catalogue, not in search, no page.
    anonymous.goto(&site.url("/")).await.unwrap();
    let cards = anonymous.find_all(Locator::Css(".card")).await.unwrap();
    assert_eq!(cards.len(), 3, "only the seeded public containers");
    for card in cards {
        assert!(!card.text().await.unwrap().contains("variant-caller"));
    }
    anonymous
        .goto(&site.url("/search?q=variant"))
        .await
        .unwrap();
    assert!(
        anonymous
            .find_all(Locator::Css(".card"))
            .await
            .unwrap()
            .is_empty()
    );
    anonymous
        .goto(&site.url("/r/alice/variant-caller"))
        .await
        .unwrap();
    let title = anonymous.title().await.unwrap();
    assert!(title.starts_with("Not found"), "{title}");
    save_screenshot(&anonymous, "private-for-anonymous.png").await;

    anonymous.close().await.unwrap();
    browser.close().await.unwrap();
    server.stop();
}

/// The organisation pages in Chromium: a user creates an organisation from their account page,
/// adds a member and a robot on its settings page (the token shown once), and the member sees
/// the organisation's page with its members.
#[tokio::test]
async fn a_user_creates_an_organisation_and_a_robot_in_the_browser() {
    let site = Site::new();
    site.add_user("olga", "correct horse battery");
    site.add_user("mia", "another good password");
    let server = site.serve().await;
    let driver = Driver::start().await;
    let profile = tempfile::TempDir::new().unwrap();
    let browser = driver.client(profile.path()).await;
    sign_in(&browser, &site, "olga", "correct horse battery").await;

    browser.goto(&site.url("/account")).await.unwrap();
    let form = browser.form(Locator::Id("new-org")).await.unwrap();
    form.set_by_name("name", "genomics-core").await.unwrap();
    form.submit().await.unwrap();
    // The submit returns before the next page has loaded: wait for it.
    arrive(&browser, "/org/genomics-core/settings").await;
    assert_eq!(
        text_of(&browser, "h1").await,
        "Settings of genomics-core",
        "creating it leads to its settings"
    );
    let form = browser.form(Locator::Id("add-member")).await.unwrap();
    form.set_by_name("user", "mia").await.unwrap();
    form.submit().await.unwrap();
    // The same page comes back: wait until it lists her.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let members = browser.find(Locator::Id("member-list")).await.ok();
        let text = match members {
            Some(element) => element.text().await.unwrap_or_default(),
            None => String::new(),
        };
        if text.contains("mia") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "mia never listed: {text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let form = browser.form(Locator::Id("add-robot")).await.unwrap();
    form.set_by_name("name", "ci").await.unwrap();
    form.submit().await.unwrap();
    let token = text_of(&browser, "#new-token-value").await;
    assert!(token.starts_with("bsr_"), "{token}");
    save_screenshot(&browser, "org-settings.png").await;
    browser
        .goto(&site.url("/org/genomics-core/settings"))
        .await
        .unwrap();
    let robots = text_of(&browser, "#robot-list").await;
    assert!(robots.contains("genomics-core+ci"), "{robots}");
    assert!(
        !browser.source().await.unwrap().contains(&token),
        "the token is shown once"
    );

    // The member sees the organisation's page with its members, but no settings.
    let other_profile = tempfile::TempDir::new().unwrap();
    let member = driver.client(other_profile.path()).await;
    sign_in(&member, &site, "mia", "another good password").await;
    member.goto(&site.url("/org/genomics-core")).await.unwrap();
    assert_eq!(text_of(&member, "#org-name").await, "genomics-core");
    let listed = text_of(&member, "#org-members").await;
    assert!(
        listed.contains("olga") && listed.contains("mia"),
        "{listed}"
    );
    assert!(
        member
            .find_all(Locator::Id("org-settings"))
            .await
            .unwrap()
            .is_empty()
    );
    save_screenshot(&member, "org-page.png").await;
    member.close().await.unwrap();
    browser.close().await.unwrap();
    server.stop();
}

async fn sign_in(browser: &Client, site: &Site, name: &str, password: &str) {
    browser.goto(&site.url("/login")).await.unwrap();
    let form = browser
        .form(Locator::Css("form[action='/login']"))
        .await
        .unwrap();
    form.set_by_name("name", name).await.unwrap();
    form.set_by_name("password", password).await.unwrap();
    form.submit().await.unwrap();
    assert_eq!(text_of(browser, "#nav-user").await, name);
}
