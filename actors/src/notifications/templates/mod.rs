//! What the customers read: one plain function per message, in Brazilian Portuguese or English,
//! each answering a subject, a plain-text body and an HTML body built side by side.
//!
//! Bodies are put together with [`Body`], which writes every value into the text as it is and
//! into the HTML escaped, so no template can forget to escape one. Amounts, times and places
//! are written by [`format`]. Templates take the figures of the event and the customer's name
//! and language, nothing else: they are pure and tested without a runtime.

pub(crate) mod account;
pub(crate) mod booking;
pub(crate) mod format;
pub(crate) mod receipt;

use crate::domain::Locale;

/// A message ready to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rendered {
    pub(crate) subject: String,
    pub(crate) text: String,
    pub(crate) html: String,
}

/// `pt` or `en`, by the customer's language.
pub(crate) fn pick<'a>(locale: Locale, pt: &'a str, en: &'a str) -> &'a str {
    match locale {
        Locale::PtBr => pt,
        Locale::En => en,
    }
}

/// A message's body in both forms, written paragraph by paragraph.
pub(crate) struct Body {
    locale: Locale,
    text: String,
    html: String,
}

impl Body {
    /// A body that greets `name`.
    /// The greeting names nobody: a message stays in the queue's store (and in the log of the
    /// log backend) after its customer may have been erased, and must hold nothing of them.
    pub(crate) fn greeting(locale: Locale, _name: &str) -> Body {
        let greeting = match locale {
            Locale::PtBr => "Olá,".to_owned(),
            Locale::En => "Hello,".to_owned(),
        };
        let mut body = Body {
            locale,
            text: String::new(),
            html: String::new(),
        };
        body.paragraph(&greeting);
        body
    }

    /// A paragraph.
    pub(crate) fn paragraph(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self.text.push_str("\n\n");
        self.html.push_str("<p>");
        self.html.push_str(&format::escape(text));
        self.html.push_str("</p>\n");
        self
    }

    /// Labelled values, one a line (a table in HTML).
    pub(crate) fn facts(&mut self, rows: &[(&str, String)]) -> &mut Self {
        self.html.push_str("<table>\n");
        for (label, value) in rows {
            self.text.push_str(&format!("{label}: {value}\n"));
            self.html.push_str(&format!(
                "<tr><th align=\"left\">{}</th><td>{}</td></tr>\n",
                format::escape(label),
                format::escape(value)
            ));
        }
        self.text.push('\n');
        self.html.push_str("</table>\n");
        self
    }

    /// A link with what it is for.
    pub(crate) fn link(&mut self, label: &str, url: &str) -> &mut Self {
        self.text.push_str(&format!("{label}: {url}\n\n"));
        self.html.push_str(&format!(
            "<p><a href=\"{}\">{}</a></p>\n",
            format::escape(url),
            format::escape(label)
        ));
        self
    }

    /// The signature, and the message with its subject.
    pub(crate) fn finish(&mut self, subject: String) -> Rendered {
        let team = pick(self.locale, "Equipe EV Rental", "The EV Rental team");
        self.paragraph(team);
        let lang = pick(self.locale, "pt-BR", "en");
        let html = format!(
            "<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{}</title></head><body>\n{}</body></html>\n",
            format::escape(&subject),
            self.html
        );
        Rendered {
            subject,
            text: self.text.trim_end().to_owned() + "\n",
            html,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_writes_values_plainly_in_the_text_and_escaped_in_the_html() {
        let mut body = Body::greeting(Locale::En, "Ana <script>");
        body.facts(&[("Car", "Tom & Jerry's".to_owned())])
            .link("Open", "https://x.test/?a=1&b=\"2\"");
        let rendered = body.finish("Hi <you>".into());
        assert!(rendered.text.starts_with("Hello,\n"), "{}", rendered.text);
        assert!(!rendered.text.contains("Ana"), "a message names nobody");
        assert!(rendered.text.contains("Car: Tom & Jerry's"));
        assert!(rendered.text.contains("Open: https://x.test/?a=1&b=\"2\""));
        assert!(rendered.text.ends_with("The EV Rental team\n"));
        assert!(!rendered.html.contains("<script>") && !rendered.html.contains("Ana"));
        assert!(rendered.html.contains("Tom &amp; Jerry&#39;s"));
        assert!(
            rendered
                .html
                .contains("href=\"https://x.test/?a=1&amp;b=&quot;2&quot;\"")
        );
        assert!(rendered.html.contains("<title>Hi &lt;you&gt;</title>"));
        assert_eq!(rendered.subject, "Hi <you>");
    }

    #[test]
    fn the_greeting_and_signature_follow_the_language() {
        let rendered = Body::greeting(Locale::PtBr, "Ana").finish("Oi".into());
        assert!(rendered.text.starts_with("Olá,\n"), "{}", rendered.text);
        assert!(rendered.text.contains("Equipe EV Rental"));
        assert!(rendered.html.contains("lang=\"pt-BR\""));
    }
}
