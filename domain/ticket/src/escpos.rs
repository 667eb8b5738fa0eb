//! A ticket as ESC/POS bytes for an 80 mm Epson-compatible printer (48 columns of font A), text
//! in Windows-1252 (`ESC t 16`): the code page that has every French letter, `œ` and `€`.
//! The `escpos` crate does the encoding; it writes into memory here, and [`crate::printer`]
//! sends the bytes.

use std::cell::RefCell;

use escpos::driver::Driver;
use escpos::errors::Result as EscResult;
use escpos::printer::Printer;
use escpos::printer_options::PrinterOptions;
use escpos::utils::{JustifyMode, PageCode, Protocol};

use crate::content::{Block, Ticket};

/// Columns of font A on 80 mm paper.
pub const COLUMNS: usize = COLUMNS_U8 as usize;
const COLUMNS_U8: u8 = 48;

/// Collects what the printer would have been sent.
#[derive(Default)]
struct Memory(RefCell<Vec<u8>>);

impl Driver for Memory {
    fn name(&self) -> String {
        "memory".to_owned()
    }
    fn write(&self, data: &[u8]) -> EscResult<()> {
        self.0.borrow_mut().extend_from_slice(data);
        Ok(())
    }
    fn read(&self, _buf: &mut [u8]) -> EscResult<usize> {
        Ok(0)
    }
    fn flush(&self) -> EscResult<()> {
        Ok(())
    }
}

/// Windows-1252 characters above U+00FF.
const CP1252_EXTRA: &str = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ";

/// What the printer can print of `s`. Control characters (ESC, GS, DLE, new lines) typed by a
/// customer would be commands to the printer, so they become spaces; characters outside
/// Windows-1252 become `?`.
pub fn printable(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            c if c.is_control() => ' ',
            ' '..='~' | '\u{A0}'..='\u{FF}' => c,
            c if CP1252_EXTRA.contains(c) => c,
            _ => '?',
        })
        .collect()
}

fn build(ticket: &Ticket) -> EscResult<Vec<u8>> {
    let options = PrinterOptions::new(Some(PageCode::WPC1252), None, COLUMNS_U8);
    let mut p = Printer::new(Memory::default(), Protocol::default(), Some(options));
    // ESC @ resets the code page, so init() sends ESC t 16 right after it.
    p.init()?;
    for block in &ticket.blocks {
        match block {
            Block::Title(s) => {
                p.justify(JustifyMode::CENTER)?.size(2, 2)?.bold(true)?;
                p.writeln(&printable(s))?;
                p.bold(false)?.reset_size()?.justify(JustifyMode::LEFT)?;
            }
            Block::Banner(s) => {
                p.justify(JustifyMode::CENTER)?.reverse(true)?.bold(true)?;
                p.writeln(&printable(s))?;
                p.bold(false)?.reverse(false)?.justify(JustifyMode::LEFT)?;
            }
            Block::Strong(s) => {
                p.bold(true)?.writeln(&printable(s))?.bold(false)?;
            }
            Block::Large(s) => {
                p.size(2, 2)?.bold(true)?;
                p.writeln(&printable(s))?;
                p.bold(false)?.reset_size()?;
            }
            Block::Text(s) => {
                p.writeln(&printable(s))?;
            }
            Block::Rule => {
                p.writeln(&"-".repeat(COLUMNS))?;
            }
        }
    }
    p.feeds(3)?.print_cut()?;
    Ok(p.driver().0.into_inner())
}

/// The bytes of a ticket: reset, code page, the blocks, feed and full cut.
pub fn encode(ticket: &Ticket) -> Vec<u8> {
    // Sizes are constant and valid, and after `printable` every character is in the code
    // page's table: encoding cannot fail.
    build(ticket).expect("ESC/POS encoding of printable text does not fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_text_is_encoded_in_windows_1252_between_reset_and_cut() {
        let ticket = Ticket {
            blocks: vec![
                Block::Title("Commande n°42".into()),
                Block::Banner("REPRINT".into()),
                Block::Text("1 x Reine (œuf, crème) 12,50 €".into()),
            ],
        };
        let bytes = encode(&ticket);
        assert!(bytes.starts_with(b"\x1b@\x1bt\x10"));
        assert!(bytes.ends_with(b"\x1dVA\x00"));
        assert!(bytes.windows(4).any(|w| w == b"n\xb042"), "° is B0");
        assert!(bytes.windows(2).any(|w| w == [0x9c, b'u']), "œ is 9C");
        assert!(bytes.windows(3).any(|w| w == [b'r', 0xe8, b'm']), "è is E8");
        assert!(bytes.contains(&0x80), "€ is 80");
        assert!(
            bytes.windows(3).any(|w| w == b"\x1dB\x01"),
            "banner in reverse"
        );
    }

    #[test]
    fn customer_text_cannot_smuggle_printer_commands() {
        assert_eq!(printable("sans\x1bi oignons\n"), "sans i oignons ");
        assert_eq!(printable("pizza 🍕"), "pizza ?");
        let bytes = encode(&Ticket {
            blocks: vec![Block::Text("a\x1dV\x00b".into())],
        });
        assert!(bytes.windows(5).any(|w| w == b"a V b"));
        assert_eq!(
            bytes.windows(2).filter(|w| *w == b"\x1dV").count(),
            1,
            "only our own cut"
        );
    }
}
