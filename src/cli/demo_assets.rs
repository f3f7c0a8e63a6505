//! The demo's Dropbox content, embedded so `smartimage demo` works from any directory.
//! Regenerate the files with `assets/make_demo_assets.py`; keep this list in step.

/// (path inside the synced Dropbox folder, bytes)
pub const DEMO_FILES: &[(&str, &[u8])] = &[
    (
        "Acme Marketing/campaign/banner.png",
        include_bytes!("../../assets/demo/Acme Marketing/campaign/banner.png"),
    ),
    (
        "Acme Marketing/campaign/hero.jpg",
        include_bytes!("../../assets/demo/Acme Marketing/campaign/hero.jpg"),
    ),
    (
        "Acme Marketing/campaign/social/square.webp",
        include_bytes!("../../assets/demo/Acme Marketing/campaign/social/square.webp"),
    ),
    (
        "Acme Marketing/campaign/teaser.mp4",
        include_bytes!("../../assets/demo/Acme Marketing/campaign/teaser.mp4"),
    ),
    (
        "Acme Marketing/downloads/setup.jpg",
        include_bytes!("../../assets/demo/Acme Marketing/downloads/setup.jpg"),
    ),
    (
        "Acme Marketing/logo.gif",
        include_bytes!("../../assets/demo/Acme Marketing/logo.gif"),
    ),
    (
        "Acme Marketing/old-assets.zip",
        include_bytes!("../../assets/demo/Acme Marketing/old-assets.zip"),
    ),
    (
        "Acme Marketing/press/press-kit.pdf",
        include_bytes!("../../assets/demo/Acme Marketing/press/press-kit.pdf"),
    ),
    (
        "Basic Bakery/bread.jpg",
        include_bytes!("../../assets/demo/Basic Bakery/bread.jpg"),
    ),
    (
        "Basic Bakery/menu/cake.png",
        include_bytes!("../../assets/demo/Basic Bakery/menu/cake.png"),
    ),
    (
        "Basic Bakery/menu/menu.pdf",
        include_bytes!("../../assets/demo/Basic Bakery/menu/menu.pdf"),
    ),
    (
        "Basic Bakery/promo.mp4",
        include_bytes!("../../assets/demo/Basic Bakery/promo.mp4"),
    ),
    (
        "Trial Studio/mockup.tiff",
        include_bytes!("../../assets/demo/Trial Studio/mockup.tiff"),
    ),
    (
        "Trial Studio/shoot/day1/portrait.jpg",
        include_bytes!("../../assets/demo/Trial Studio/shoot/day1/portrait.jpg"),
    ),
    (
        "Trial Studio/shoot/day2/landscape.jpg",
        include_bytes!("../../assets/demo/Trial Studio/shoot/day2/landscape.jpg"),
    ),
];
