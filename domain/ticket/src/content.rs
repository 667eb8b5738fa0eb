//! What a kitchen ticket says, independent of how it is printed: the same content is encoded
//! for the thermal printer and shown as text on screens and in tests.

use catalog::product::ChosenKind;
use chrono::{DateTime, Utc};
use chrono_tz::Europe::Paris;
use order::Order;
use vocab::{Cents, Fulfilment, PaymentMode};

/// Why this print exists, printed as a banner so the kitchen never cooks an order twice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Marks {
    /// A copy asked for by staff.
    pub reprint: bool,
    /// Printed on the backup printer because the kitchen's own did not answer.
    pub backup: bool,
    /// An earlier attempt may have printed it already (cut before it was recorded).
    pub possible_duplicate: bool,
}

/// One block of the ticket, with how it should stand out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    /// Large, centred, bold.
    Title(String),
    /// White on black, centred: REPRINT, BACKUP.
    Banner(String),
    /// Bold.
    Strong(String),
    /// Double size, bold, left: what the cook must not miss (an allergy, a remark).
    Large(String),
    Text(String),
    Rule,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    pub blocks: Vec<Block>,
}

fn clock(at: DateTime<Utc>) -> String {
    at.with_timezone(&Paris).format("%H:%M").to_string()
}

fn paris(at: DateTime<Utc>) -> String {
    at.with_timezone(&Paris).format("%d/%m %H:%M").to_string()
}

/// A line: quantity, name and size in bold; each option on its own line; each removal white on
/// black (« SANS OIGNONS »), so a glance catches it; then the customer's remark, large.
fn line_blocks(b: &mut Vec<Block>, line: &order::Line) {
    let head = match &line.size_name {
        Some(size) => format!("{} x {} - {size}", line.quantity, line.pizza_name),
        None => format!("{} x {}", line.quantity, line.pizza_name),
    };
    b.push(Block::Strong(head));
    let kinds = [ChosenKind::Choice, ChosenKind::Option];
    for option in kinds
        .iter()
        .flat_map(|k| line.choices.iter().filter(move |c| c.kind == *k))
    {
        // An alternative says which choice it is (« Base : Crème »).
        let text = match option.kind {
            ChosenKind::Choice => format!("   {} : {}", option.group_name, option.name),
            _ => format!("   {}", option.label_fr()),
        };
        b.push(Block::Text(text));
    }
    for removal in line.removals() {
        b.push(Block::Banner(format!(
            "SANS {}",
            removal.name.to_uppercase()
        )));
    }
    if !line.notes.is_empty() {
        note_blocks(b, "", &line.notes);
    }
}

/// A remark typed by the customer, large; one that speaks of an allergy is announced.
fn note_blocks(b: &mut Vec<Block>, label: &str, note: &str) {
    if vocab::dish::mentions_allergy(note) {
        b.push(Block::Banner("!! ALLERGIE !!".into()));
    }
    b.push(Block::Large(match label {
        "" => format!("> {note}"),
        label => format!("{label} : {note}"),
    }));
}

impl Ticket {
    /// The page an admin prints to check a printer is set up right.
    pub fn test_page(printer_name: &str, shop_name: &str, now: DateTime<Utc>) -> Ticket {
        Ticket {
            blocks: vec![
                Block::Title(shop_name.to_owned()),
                Block::Banner("TEST D'IMPRESSION".into()),
                Block::Text(format!("Imprimante : {printer_name}")),
                Block::Text(format!("Le {}", paris(now))),
                Block::Text("Accents : é è à ç ô — 12,50 €".into()),
                Block::Rule,
            ],
        }
    }

    /// The ticket of `order` for the shop called `shop_name`, printed at `now`.
    pub fn for_order(order: &Order, shop_name: &str, marks: Marks, now: DateTime<Utc>) -> Ticket {
        let mut b = vec![Block::Title(shop_name.to_owned())];
        if marks.reprint {
            b.push(Block::Banner("REPRINT - DUPLICATA".into()));
        }
        if marks.backup {
            b.push(Block::Banner("BACKUP - IMPRIMANTE DE SECOURS".into()));
        }
        if marks.possible_duplicate {
            b.push(Block::Banner("DOUBLON POSSIBLE".into()));
            // Two lines of the 48 a normal line holds: the printer breaks longer ones mid-word.
            b.push(Block::Strong(
                "Ce ticket a peut-être déjà été imprimé.".into(),
            ));
            b.push(Block::Strong("Vérifiez avant de préparer.".into()));
        }
        b.push(Block::Title(format!("Commande n°{}", order.id)));
        let due = match (order.desired_at, order.promised_at) {
            (Some(at), _) => format!("pour {}", paris(at)),
            (None, Some(promised)) => format!("dès que possible, promise {}", clock(promised)),
            (None, None) => "dès que possible".into(),
        };
        b.push(Block::Strong(match order.fulfilment {
            Fulfilment::Delivery => format!("À LIVRER {due}"),
            Fulfilment::Pickup => format!("À EMPORTER {due}"),
        }));
        b.push(Block::Text(format!("Reçue le {}", paris(order.created_at))));
        b.push(Block::Rule);
        // What the kitchen makes first; then what goes in the bag as it is.
        let (cooked, handed): (Vec<_>, Vec<_>) =
            order.lines.iter().partition(|l| l.category.is_cooked());
        for line in &cooked {
            line_blocks(&mut b, line);
        }
        if !handed.is_empty() {
            b.push(Block::Strong("À JOINDRE :".into()));
            for line in &handed {
                line_blocks(&mut b, line);
            }
        }
        if !order.notes.is_empty() {
            note_blocks(&mut b, "Remarque", &order.notes);
        }
        b.push(Block::Rule);
        let mut customer = format!("Client : {}", order.customer_name);
        if !order.customer_phone.is_empty() {
            customer.push_str(&format!(" - {}", order.customer_phone));
        }
        b.push(Block::Text(customer));
        if let Some(a) = &order.delivery {
            b.push(Block::Text(format!(
                "{}, {} {}",
                a.street, a.postal_code, a.city
            )));
            if !a.complement.is_empty() {
                b.push(Block::Text(a.complement.clone()));
            }
            if !a.instructions.is_empty() {
                b.push(Block::Text(format!("Instructions : {}", a.instructions)));
            }
        }
        if order.delivery_fee.0 > 0 {
            b.push(Block::Text(format!(
                "Frais de livraison : {}",
                order.delivery_fee
            )));
        }
        b.push(Block::Strong(match order.payment_mode {
            PaymentMode::Online => format!("PAYÉE EN LIGNE ({})", order.total),
            PaymentMode::OnSite => format!("À ENCAISSER : {}", order.total),
        }));
        b.push(Block::Text(format!("Imprimé le {}", paris(now))));
        Ticket { blocks: b }
    }

    /// Plain text, one block per line (screens, logs, tests).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for block in &self.blocks {
            match block {
                Block::Title(t)
                | Block::Banner(t)
                | Block::Strong(t)
                | Block::Large(t)
                | Block::Text(t) => {
                    out.push_str(t);
                }
                Block::Rule => out.push_str(&"-".repeat(32)),
            }
            out.push('\n');
        }
        out
    }

    /// Amount left to collect, for callers that show it apart.
    pub fn to_collect(order: &Order) -> Option<Cents> {
        (order.payment_mode == PaymentMode::OnSite).then_some(order.total)
    }
}
