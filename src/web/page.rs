//! The page's files, built into the binary (no CDN, nothing fetched from
//! elsewhere): `assets/web/`.

/// The page (served to a logged-in browser at `/`).
pub const INDEX_HTML: &str = include_str!("../../assets/web/index.html");

/// The page for a browser without a login.
pub const LOGIN_HTML: &str = include_str!("../../assets/web/login.html");

/// The page's script.
pub const APP_JS: &str = include_str!("../../assets/web/app.js");

/// The page's style.
pub const APP_CSS: &str = include_str!("../../assets/web/app.css");
