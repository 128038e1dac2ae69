//! Container descriptions are Markdown written by users: rendered, then sanitised, so no
//! script, style or event handler ever reaches a page.

use pulldown_cmark::{Options, Parser, html};

/// Markdown to safe HTML.
pub fn render(markdown: &str) -> String {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut unsafe_html = String::with_capacity(markdown.len() * 2);
    html::push_html(&mut unsafe_html, Parser::new_ext(markdown, options));
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&unsafe_html)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn renders_markdown() {
        let html = render("# Title\n\n*nice* `code`\n\n| a |\n|---|\n| b |");
        assert!(html.contains("<h1>Title</h1>"));
        assert!(html.contains("<em>nice</em>"));
        assert!(html.contains("<table>"));
    }

    #[test]
    fn strips_scripts_and_handlers() {
        let html = render(
            "<script>alert(1)</script><img src=x onerror=alert(1)>\n\n[x](javascript:alert(1))",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
        assert!(
            html.contains("<a") && !html.contains("href=\"javascript:"),
            "{html}"
        );
    }
}
