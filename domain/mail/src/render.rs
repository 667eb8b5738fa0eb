//! Bodies from templates. The templates are compiled into the binary; HTML is auto-escaped so
//! a customer's name or note can never inject markup.

use std::sync::OnceLock;

use minijinja::Environment;

use crate::MailError;
use crate::compose::Body;

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.add_template("layout.html", include_str!("../templates/layout.html"))
            .expect("layout.html parses");
        env.add_template("layout.txt", include_str!("../templates/layout.txt"))
            .expect("layout.txt parses");
        env
    })
}

/// (text, html) of a body.
pub fn render(subject: &str, body: &Body) -> Result<(String, String), MailError> {
    let ctx = minijinja::context! { subject => subject, ..minijinja::Value::from_serialize(body) };
    let text = env().get_template("layout.txt")?.render(&ctx)?;
    let html = env().get_template("layout.html")?.render(&ctx)?;
    Ok((text, html))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::{LineSummary, OrderSummary};

    #[test]
    fn html_escapes_what_customers_typed_and_text_keeps_it() {
        let body = Body {
            title: "Commande confirmée".into(),
            paragraphs: vec!["Bonjour <b>Zoé</b>,".into()],
            order: Some(OrderSummary {
                lines: vec![LineSummary {
                    quantity: 2,
                    name: "Regina".into(),
                    detail: "40 cm · sans Oignons".into(),
                    notes: "sans <script>".into(),
                    amount: "24,00 €".into(),
                }],
                delivery_fee: Some("2,50 €".into()),
                total: "24,00 €".into(),
                fulfilment: "À emporter".into(),
                when: "dès que possible".into(),
                payment: "Payée en ligne".into(),
                address: None,
            }),
            link: Some("http://127.0.0.1:8000/commandes/4".into()),
            link_label: "Suivre ma commande".into(),
            signature: "OC Pizza Test".into(),
        };
        let (text, html) = render("Sujet", &body).unwrap();
        assert!(
            html.contains("Bonjour &lt;b&gt;Zoé&lt;&#x2f;b&gt;")
                || html.contains("Bonjour &lt;b&gt;Zoé&lt;/b&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script>"));
        assert!(text.contains("Bonjour <b>Zoé</b>,"));
        assert!(
            text.contains("2 x Regina - 40 cm · sans Oignons (sans <script>) : 24,00 €"),
            "{text}"
        );
        assert!(html.contains("40 cm · sans Oignons"));
        assert!(html.contains("Suivre ma commande"));
        assert!(text.contains("Frais de livraison : 2,50 €"), "{text}");
        assert!(html.contains("Frais de livraison"));
    }
}
