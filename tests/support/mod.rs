//! Test support for the end-to-end suite: a static file server for dist/ on an ephemeral
//! 127.0.0.1 port, chromedriver, and a thin fantoccini wrapper with waits that poll.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// Hosts that Chromium itself contacts in the background (component updates, sign-in, the
/// default search engine's preconnect, network time), whatever page is open: the proxy sees them
/// but they are not the app's. Any other host fails the privacy check.
const BROWSER_SERVICE_HOSTS: &[&str] = &[
    "update.googleapis.com",
    "accounts.google.com",
    "clients2.google.com",
    "content-autofill.googleapis.com",
    "start.duckduckgo.com",
];

/// The host of an absolute URL (`http://host:port/…` or `connect://host:port`).
fn host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', ':', '?']).next().unwrap_or("")
}

/// How long a wait polls before failing.
pub const WAIT: Duration = Duration::from_secs(10);
/// How long a page load may take to mount the app.
const MOUNT_WAIT: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(50);

/// Serves `dir` on 127.0.0.1 at an ephemeral port, under a path (`/` or a sub-path such as
/// `/course/quantscope/`, as GitHub Pages serves a project), and is also the browser's HTTP proxy
/// for every URL, loopback included: so it sees each request the page, its workers and its
/// service worker make, records the absolute URL and status, and answers only for its own
/// origin (403 for anything else) and within its path (404 outside it).
pub struct StaticServer {
    /// The app's URL: `http://127.0.0.1:port/path/`.
    pub base: String,
    /// `http://127.0.0.1:port`: the browser's proxy.
    pub origin: String,
    pub requests: Arc<Mutex<Vec<(String, u16)>>>,
    /// While set, every request fails (503), as with the network cut.
    pub offline: Arc<std::sync::atomic::AtomicBool>,
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        Some("gz") => "application/gzip",
        _ => "application/octet-stream",
    }
}

impl StaticServer {
    pub fn start(dir: PathBuf, path: &str) -> StaticServer {
        assert!(path.starts_with('/') && path.ends_with('/'), "a path such as / or /a/b/, not {path}");
        let server = tiny_http::Server::http("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = server.server_addr().to_ip().expect("an IP address").port();
        let origin = format!("http://127.0.0.1:{port}");
        let base = format!("{origin}{path}");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let offline = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (log, app, host, cut) = (requests.clone(), base.clone(), origin.clone(), offline.clone());
        std::thread::spawn(move || {
            for req in server.incoming_requests() {
                // Proxied requests carry an absolute URL (or CONNECT host:port); direct ones a path.
                let url = match req.url() {
                    u if u.starts_with('/') => format!("{host}{u}"),
                    u if *req.method() == tiny_http::Method::Connect => format!("connect://{u}"),
                    u => u.to_string(),
                };
                let (status, response) = match url.strip_prefix(&app) {
                    _ if cut.load(std::sync::atomic::Ordering::SeqCst) => (503, tiny_http::Response::from_data(b"offline".to_vec()).with_status_code(503)),
                    None if url.starts_with(&host) => (404, tiny_http::Response::from_data(b"outside the app's path".to_vec()).with_status_code(404)),
                    None => (403, tiny_http::Response::from_data(b"outside the app".to_vec()).with_status_code(403)),
                    Some(rest) => {
                        let path = rest.split(['?', '#']).next().unwrap_or("");
                        let rel = if path.is_empty() { "index.html" } else { path };
                        let file = dir.join(rel);
                        match std::fs::read(&file) {
                            Ok(bytes) if !rel.split('/').any(|part| part == "..") => {
                                let header = tiny_http::Header::from_bytes("Content-Type", content_type(&file)).unwrap();
                                (200, tiny_http::Response::from_data(bytes).with_header(header))
                            }
                            _ => (404, tiny_http::Response::from_data(b"not found".to_vec()).with_status_code(404)),
                        }
                    }
                };
                log.lock().unwrap().push((url, status));
                let _ = req.respond(response);
            }
        });
        StaticServer { base, origin, requests, offline }
    }
}

/// The app's build: `$QUANTSCOPE_DIST`, default dist/.
pub fn dist() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::env::var_os("QUANTSCOPE_DIST").map(PathBuf::from).unwrap_or_else(|| root.join("dist"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Console log levels chromedriver reports.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Severe,
    All,
}

/// Chromedriver's `POST /session/{id}/se/log`: the browser's console or performance log.
#[derive(Debug)]
struct GetLog(&'static str);

impl WebDriverCompatibleCommand for GetLog {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }
    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(json!({ "type": self.0 }).to_string()))
    }
}

/// Runs the `quantscope` CLI with `--json` and parses what it prints.
pub fn cli_json(args: &[&str]) -> Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_quantscope")).args(args).arg("--json").output().unwrap();
    assert!(out.status.success(), "quantscope {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The two ends of a range readout such as `[−1.5, 2]`.
pub fn range_ends(text: &str) -> (f64, f64) {
    let v: Vec<f64> = text.trim_matches(['[', ']']).split(", ").map(|x| x.replace('−', "-").parse().unwrap()).collect();
    (v[0], v[1])
}

/// A chromedriver process, a browser session and the server it browses.
pub struct Browser {
    pub client: Client,
    pub server: StaticServer,
    /// Where the browser saves downloads (exports).
    pub downloads: PathBuf,
    driver: Child,
    shots: PathBuf,
    profile: PathBuf,
}

impl Browser {
    /// Serves `$QUANTSCOPE_DIST` (default: dist/) at `/` and opens a headless Chromium session.
    pub async fn start() -> Browser {
        Browser::start_at("/").await
    }

    /// Serves `$QUANTSCOPE_DIST` under `path` (`/a/b/`) and opens a headless Chromium session.
    pub async fn start_at(path: &str) -> Browser {
        Browser::start_with(path, "en-US").await
    }

    /// The same, in a browser whose preferred language is `language` (`zh-CN`).
    pub async fn start_with(path: &str, language: &str) -> Browser {
        Browser::serving(dist(), path, language).await
    }

    /// Serves `dir` (an app build, perhaps with more beside it) under `path`.
    pub async fn serving(dir: PathBuf, path: &str, language: &str) -> Browser {
        assert!(dir.join("index.html").exists(), "no app build in {}: run scripts/test e2e", dir.display());
        let server = StaticServer::start(dir, path);

        let port = free_port();
        let chromedriver = std::env::var("CHROMEDRIVER").ok().filter(|s| !s.is_empty()).unwrap_or("chromedriver".into());
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {chromedriver}: {e} (run scripts/setup --browser)"));
        let webdriver = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start on port {port}");
            tokio::time::sleep(POLL).await;
        }

        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
        // A fresh profile per session: a port can come round again while the last session's
        // browser still holds its profile's lock, and Chromium then exits at once (seen in CI).
        static SESSIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let session = SESSIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let profile = tmp.join(format!("chromium-profile-{}-{session}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        let downloads = tmp.join(format!("downloads-{port}"));
        std::fs::create_dir_all(&downloads).unwrap();
        let caps = json!({
            "goog:chromeOptions": {
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,1000", format!("--lang={language}"),
                    // Quiet the browser's own background services, so that what the proxy sees
                    // is the page's traffic.
                    "--disable-client-side-phishing-detection", "--disable-default-apps", "--disable-extensions",
                    "--disable-domain-reliability", "--disable-breakpad", "--no-default-browser-check",
                    "--disable-search-engine-choice-screen", "--no-service-autorun", "--metrics-recording-only",
                    "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication,NetworkTimeServiceQuerying,SignInProfileCreation",
                    format!("--user-data-dir={}", profile.display()),
                    // Every request, loopback included, goes through the test server, which sees
                    // all of them and lets none leave.
                    format!("--proxy-server={}", server.origin),
                    "--proxy-bypass-list=<-loopback>",
                ],
                "prefs": {
                    "intl.accept_languages": language,
                    "download.default_directory": downloads.to_str().unwrap(),
                    "download.prompt_for_download": false,
                }
            },
            "goog:loggingPrefs": { "browser": "ALL" }
        });
        let caps = caps.as_object().unwrap().clone();
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&webdriver)
            .await
            .expect("a chromedriver session");
        let shots = tmp.join("e2e-screenshots");
        std::fs::create_dir_all(&shots).unwrap();
        Browser { client, server, downloads, driver, shots, profile }
    }

    /// Loads `base + rest` (rest: "" or "#hash") afresh, as opening a shared link does. (Going
    /// to a new hash of the same document would only fire `hashchange`.)
    pub async fn goto(&self, rest: &str) {
        self.client.goto("about:blank").await.unwrap();
        self.client.goto(&format!("{}{rest}", self.server.base)).await.unwrap();
        // The app has mounted (its shell is there). A cold machine's first page load can take
        // longer than an interaction may (fonts cached, wasm compiled for the first time): seen
        // once in a cold CI run, where the second test's page took over 10 s to mount.
        self.wait_for_timeout("main#view", MOUNT_WAIT).await;
    }

    pub async fn exec(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap_or(Value::Null)
    }

    /// Runs `script` with `arguments[0]` = `arg`.
    pub async fn exec_with(&self, script: &str, arg: &str) -> Value {
        self.client.execute(script, vec![json!(arg)]).await.unwrap_or(Value::Null)
    }

    pub async fn hash(&self) -> String {
        self.exec("return location.hash").await.as_str().unwrap_or_default().to_string()
    }

    /// Changes the hash in place, as a user editing the address bar would (fires hashchange).
    pub async fn set_hash(&self, hash: &str) {
        self.client.execute("location.hash = arguments[0]", vec![json!(hash)]).await.unwrap();
    }

    pub async fn wait_for(&self, css: &str) -> Element {
        self.wait_for_timeout(css, WAIT).await
    }

    pub async fn wait_for_timeout(&self, css: &str, timeout: Duration) -> Element {
        match self.client.wait().at_most(timeout).every(POLL).for_element(Locator::Css(css)).await {
            Ok(el) => el,
            Err(e) => {
                // Say why: the console usually holds the answer (a panic, a failed fetch).
                let console = self.logs(Level::All).await;
                panic!("{css} did not appear: {e}\nconsole:\n{}", console.join("\n"))
            }
        }
    }

    pub async fn text(&self, css: &str) -> String {
        self.wait_for(css).await.text().await.unwrap()
    }

    /// Waits until the text of `css` satisfies `ok`.
    pub async fn wait_text(&self, css: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let t = self.text(css).await;
            if ok(&t) {
                return t;
            }
            assert!(Instant::now() < deadline, "{css} stayed at {t:?}");
            tokio::time::sleep(POLL).await;
        }
    }

    pub async fn click(&self, css: &str) {
        self.wait_for(css).await.click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Sets an `<input type=range>` as a user dragging it would (input event).
    pub async fn set_range(&self, css: &str, value: i64) {
        let el = self.wait_for(css).await;
        let script = "const el = arguments[0]; el.value = arguments[1]; \
                      el.dispatchEvent(new Event('input', {bubbles: true}));";
        self.client.execute(script, vec![serde_json::to_value(&el).unwrap(), json!(value.to_string())]).await.unwrap();
    }

    /// Sets a `<select>` or a number input as a user would: the value, then a change event.
    pub async fn set_value(&self, css: &str, value: &str) {
        let el = self.wait_for(css).await;
        let script = "const el = arguments[0]; el.value = arguments[1]; \
                      el.dispatchEvent(new Event('change', {bubbles: true}));";
        self.client.execute(script, vec![serde_json::to_value(&el).unwrap(), json!(value)]).await.unwrap();
    }

    /// Presses at `x` CSS pixels from the left of `css`, moves `dx` in four steps of 50 ms and
    /// lets go.
    pub async fn drag(&self, css: &str, x: f64, dx: f64) {
        self.drag_and_hold(css, x, dx).await;
        self.release().await;
    }

    /// [`Browser::drag`] without letting go (a screenshot mid-drag); [`Browser::release`] ends it.
    pub async fn drag_and_hold(&self, css: &str, x: f64, dx: f64) {
        use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
        let el = self.wait_for(css).await;
        let width = self.client.execute("return arguments[0].getBoundingClientRect().width", vec![serde_json::to_value(&el).unwrap()]).await.unwrap();
        let offset = x - width.as_f64().unwrap_or(0.0) / 2.0;
        let mut mouse = MouseActions::new("mouse".into())
            .then(PointerAction::MoveToElement { element: el, duration: None, x: offset, y: 0.0 })
            .then(PointerAction::Down { button: MOUSE_BUTTON_LEFT });
        for _ in 0..4 {
            mouse = mouse.then(PointerAction::MoveBy { duration: Some(Duration::from_millis(50)), x: dx / 4.0, y: 0.0 });
        }
        self.client.perform_actions(mouse).await.unwrap();
    }

    /// Lets the mouse button go.
    pub async fn release(&self) {
        use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
        self.client.perform_actions(MouseActions::new("mouse".into()).then(PointerAction::Up { button: MOUSE_BUTTON_LEFT })).await.unwrap();
        self.client.release_actions().await.unwrap();
    }

    /// Where the histogram's low clip end is, in CSS pixels from the chart's left edge (from the
    /// readouts: the chart spans the data and the clip range with 2% on each side, its plot
    /// area 74 px from the left and 10 px from the right); scrolls the chart into view.
    pub async fn low_clip_end_x(&self) -> f64 {
        self.exec("document.querySelector('[data-testid=chart-histogram]').scrollIntoView({block: 'center'})").await;
        let (a, b) = range_ends(&self.text("[data-testid=metric-range]").await);
        let (omin, omax) = range_ends(&self.text("[data-testid=metric-observed]").await);
        let (lo, hi) = (a.min(omin), b.max(omax));
        let (lo, hi) = (lo - (hi - lo) * 0.02, hi + (hi - lo) * 0.02);
        let width = self.exec("return document.querySelector('[data-testid=chart-histogram]').getBoundingClientRect().width").await.as_f64().unwrap();
        74.0 + (a - lo) / (hi - lo) * (width - 84.0)
    }

    /// Turns the wheel over `css` at `x` CSS pixels from its left edge (`delta_y < 0`: away from
    /// the user), as one event the page can cancel.
    pub async fn wheel(&self, css: &str, x: f64, delta_y: f64) {
        let script = "const c = document.querySelector(arguments[0]); const r = c.getBoundingClientRect(); \
                      const e = new WheelEvent('wheel', {deltaY: arguments[2], clientX: r.left + arguments[1], \
                      clientY: r.top + r.height / 2, bubbles: true, cancelable: true}); \
                      c.dispatchEvent(e); return e.defaultPrevented;";
        let prevented = self.client.execute(script, vec![json!(css), json!(x), json!(delta_y)]).await.unwrap();
        assert_eq!(prevented, json!(true), "the chart keeps the wheel from scrolling the page");
    }

    /// Waits for a finished download named `name` and returns its bytes.
    pub async fn download(&self, name: &str) -> Vec<u8> {
        let path = self.downloads.join(name);
        let deadline = Instant::now() + WAIT;
        loop {
            // Chromium writes to `name.crdownload` and renames it when done.
            if let Ok(bytes) = std::fs::read(&path) {
                if !bytes.is_empty() {
                    return bytes;
                }
            }
            let seen: Vec<String> = std::fs::read_dir(&self.downloads).map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect()).unwrap_or_default();
            assert!(Instant::now() < deadline, "no download {name}; the directory holds {seen:?}");
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the location hash contains `part` (a control's change reached the URL).
    pub async fn wait_hash(&self, part: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let h = self.hash().await;
            if h.contains(part) {
                return h;
            }
            assert!(Instant::now() < deadline, "the hash never got {part}: {h}");
            tokio::time::sleep(POLL).await;
        }
    }

    /// Counts non-white pixels of a canvas, waiting until some are painted.
    pub async fn wait_painted(&self, css: &str) -> u64 {
        let script = "const c = document.querySelector(arguments[0]); if (!c) return 0; \
                      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0; \
                      for (let i = 0; i < d.length; i += 4) if (d[i] < 250 || d[i+1] < 250 || d[i+2] < 250) n++; \
                      return n;";
        let deadline = Instant::now() + WAIT;
        loop {
            let n = self.client.execute(script, vec![json!(css)]).await.unwrap().as_u64().unwrap_or(0);
            if n > 0 {
                return n;
            }
            assert!(Instant::now() < deadline, "{css} was never painted");
            tokio::time::sleep(POLL).await;
        }
    }

    /// Saves a PNG of the page as target/tmp/e2e-screenshots/{name}.png.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }

    /// Console messages at `level` since the last call.
    pub async fn logs(&self, level: Level) -> Vec<String> {
        let entries = self.client.issue_cmd(GetLog("browser")).await.unwrap();
        entries
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| level == Level::All || e["level"] == "SEVERE")
            .map(|e| format!("{}: {}", e["level"], e["message"]))
            .collect()
    }

    /// Every request the page and its worker made was for the app's own origin, and each was
    /// answered (the proxy saw them all, `fetched` among them: pass the worker's files when the
    /// test used it, to show its requests went through the proxy too).
    pub fn assert_same_origin_only(&self, fetched: &[&str]) {
        let requests = self.server.requests.lock().unwrap().clone();
        let outside: Vec<_> = requests
            .iter()
            .filter(|(u, _)| !u.starts_with(&self.server.base) && !BROWSER_SERVICE_HOSTS.contains(&host(u)))
            .collect();
        assert!(outside.is_empty(), "requests outside the app's origin and path: {outside:?}");
        for needed in ["", "boot.js"].iter().chain(fetched) {
            let url = format!("{}{needed}", self.server.base);
            assert!(requests.iter().any(|(u, _)| *u == url), "the app never fetched {url}: {requests:?}");
        }
        let failed: Vec<_> = requests.iter().filter(|(u, s)| u.starts_with(&self.server.base) && *s != 200).collect();
        assert!(failed.is_empty(), "requests the server could not answer: {failed:?}");
    }

    /// Ends a test: no console errors, every request to the app's origin (with `fetched` among
    /// them), then the browser closed.
    pub async fn finish(self, fetched: &[&str]) {
        let severe = self.logs(Level::Severe).await;
        assert!(severe.is_empty(), "console errors:\n{}", severe.join("\n"));
        self.assert_same_origin_only(fetched);
        self.stop().await;
    }

    pub async fn stop(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}
