//! What people type, parsed once at the edge: names, phone numbers, delivery addresses,
//! quantities. Each limit is a named constant here, used by the pages, the JSON API, the CSV
//! loader and the database columns' checks alike.

/// Characters in a person's name.
pub const NAME_MAX: usize = 120;
/// Characters in a phone number as typed (spaces and `+` included).
pub const PHONE_MAX: usize = 30;
pub const STREET_MAX: usize = 200;
pub const COMPLEMENT_MAX: usize = 200;
pub const CITY_MAX: usize = 100;
pub const INSTRUCTIONS_MAX: usize = 300;
/// Characters in a saved address's label (« Maison », « Bureau »).
pub const ADDRESS_LABEL_MAX: usize = 60;
/// Characters in the remark on one line (« bien cuite »).
pub const LINE_NOTES_MAX: usize = 300;
/// Characters in the remark on a whole order.
pub const ORDER_NOTES_MAX: usize = 500;
/// Lines in one order.
pub const MAX_LINES: usize = 20;
/// Pizzas of one kind on one line.
pub const MAX_QUANTITY_PER_LINE: u32 = 20;
/// Pizzas in one order: beyond, a group order is a phone call.
pub const MAX_PIZZAS: u32 = 40;

/// The most of one ingredient a shop can hold, in its unit (a thousand tonnes in grams):
/// quantities from forms and files are bounded by it, so sums never overflow.
pub const MAX_STOCK: u32 = 1_000_000_000;

/// Why typed input was refused. Every message is French, for the person who typed it; the
/// field it concerns is [`InputError::field`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("indiquez un nom ({NAME_MAX} caractères au plus)")]
    Name,
    #[error("numéro de téléphone trop long ({PHONE_MAX} caractères au plus)")]
    Phone,
    #[error("indiquez la rue de livraison ({STREET_MAX} caractères au plus)")]
    Street,
    #[error("le code postal compte 5 chiffres")]
    PostalCode,
    #[error("indiquez la ville de livraison ({CITY_MAX} caractères au plus)")]
    City,
    #[error("complément ou instructions trop longs")]
    Complement,
    #[error("donnez un nom à l'adresse ({ADDRESS_LABEL_MAX} caractères au plus)")]
    AddressLabel,
    #[error("la quantité d'une ligne va de 1 à {MAX_QUANTITY_PER_LINE}")]
    Quantity,
    #[error(
        "adresse d'imprimante invalide : l'adresse IP de l'imprimante sur le réseau de la pizzeria (ex. 192.168.1.50)"
    )]
    PrinterHost,
    #[error("port d'imprimante refusé : de {0} à {1}")]
    PrinterPort(u16, u16),
}

impl InputError {
    /// The form field the error belongs next to.
    pub fn field(&self) -> &'static str {
        match self {
            InputError::Name => "full_name",
            InputError::Phone => "phone",
            InputError::Street => "street",
            InputError::PostalCode => "postal_code",
            InputError::City => "city",
            InputError::Complement => "complement",
            InputError::AddressLabel => "label",
            InputError::Quantity => "quantity",
            InputError::PrinterHost => "host",
            InputError::PrinterPort(..) => "port",
        }
    }
}

/// `raw` trimmed, if it has at most `max` characters.
fn bounded(raw: &str, max: usize) -> Option<&str> {
    let s = raw.trim();
    (s.chars().count() <= max).then_some(s)
}

/// `raw` trimmed, if it is not blank and has at most `max` characters.
fn filled(raw: &str, max: usize) -> Option<&str> {
    bounded(raw, max).filter(|s| !s.is_empty())
}

/// A person's name: not blank, at most [`NAME_MAX`] characters, trimmed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str) -> Result<PersonName, InputError> {
        filled(raw, NAME_MAX)
            .map(|s| PersonName(s.to_owned()))
            .ok_or(InputError::Name)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A phone number as typed (French or international), at most [`PHONE_MAX`] characters; blank
/// means none was given.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    /// `Ok(None)` for a blank field.
    pub fn parse(raw: &str) -> Result<Option<Phone>, InputError> {
        match bounded(raw, PHONE_MAX).ok_or(InputError::Phone)? {
            "" => Ok(None),
            s => Ok(Some(Phone(s.to_owned()))),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// How many of one pizza a line holds: 1 to [`MAX_QUANTITY_PER_LINE`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Quantity(u32);

impl Quantity {
    pub fn new(n: u32) -> Result<Quantity, InputError> {
        if (1..=MAX_QUANTITY_PER_LINE).contains(&n) {
            Ok(Quantity(n))
        } else {
            Err(InputError::Quantity)
        }
    }

    /// `n` brought into range (a cart adding to a full line keeps it full).
    pub fn clamped(n: u32) -> Quantity {
        Quantity(n.clamp(1, MAX_QUANTITY_PER_LINE))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// Where a kitchen printer can be: an IP address on the shop's own network (private ranges,
/// IPv6 unique-local) or this machine, on one of the allowed ports (`PRINTER_PORTS`). No host
/// names (they may resolve anywhere), no link-local or public addresses: the admin's form and a
/// test print must not become a way to send bytes to any machine.
pub fn printer_address(
    host: &str,
    port: u16,
    ports: &std::ops::RangeInclusive<u16>,
) -> Result<std::net::IpAddr, InputError> {
    use std::net::IpAddr;
    let ip: IpAddr = host.trim().parse().map_err(|_| InputError::PrinterHost)?;
    let local = match ip {
        IpAddr::V4(v4) => v4.is_private() || v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.is_unique_local(),
    };
    if !local {
        return Err(InputError::PrinterHost);
    }
    if !ports.contains(&port) {
        return Err(InputError::PrinterPort(*ports.start(), *ports.end()));
    }
    Ok(ip)
}

/// Where to deliver. Built from typed input by [`DeliveryAddress::parse`]; loaded from the
/// database as stored.
#[derive(
    Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub struct DeliveryAddress {
    #[schema(max_length = 200)]
    pub street: String,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub complement: String,
    /// Five digits.
    #[schema(pattern = "^[0-9]{5}$")]
    pub postal_code: String,
    #[schema(max_length = 100)]
    pub city: String,
    #[serde(default)]
    #[schema(max_length = 300)]
    pub instructions: String,
}

impl DeliveryAddress {
    /// The address as typed, checked and trimmed.
    pub fn parse(raw: &DeliveryAddress) -> Result<DeliveryAddress, InputError> {
        let street = filled(&raw.street, STREET_MAX).ok_or(InputError::Street)?;
        let postal_code = raw.postal_code.trim();
        if postal_code.len() != 5 || !postal_code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InputError::PostalCode);
        }
        let city = filled(&raw.city, CITY_MAX).ok_or(InputError::City)?;
        let complement = bounded(&raw.complement, COMPLEMENT_MAX).ok_or(InputError::Complement)?;
        let instructions =
            bounded(&raw.instructions, INSTRUCTIONS_MAX).ok_or(InputError::Complement)?;
        Ok(DeliveryAddress {
            street: street.to_owned(),
            complement: complement.to_owned(),
            postal_code: postal_code.to_owned(),
            city: city.to_owned(),
            instructions: instructions.to_owned(),
        })
    }

    /// One line, as a list or a driver reads it: `12 rue X, 75011 Paris`.
    pub fn one_line(&self) -> String {
        format!("{}, {} {}", self.street, self.postal_code, self.city)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(street: &str, postal_code: &str, city: &str) -> DeliveryAddress {
        DeliveryAddress {
            street: street.into(),
            postal_code: postal_code.into(),
            city: city.into(),
            ..Default::default()
        }
    }

    #[test]
    fn an_address_is_trimmed_and_each_fault_names_its_field() {
        let ok =
            DeliveryAddress::parse(&address("  12 rue Oberkampf ", " 75011", "Paris ")).unwrap();
        assert_eq!(ok.one_line(), "12 rue Oberkampf, 75011 Paris");
        for (a, field) in [
            (address(" ", "75011", "Paris"), "street"),
            (
                address(&"x".repeat(STREET_MAX + 1), "75011", "Paris"),
                "street",
            ),
            (address("1 rue", "7501", "Paris"), "postal_code"),
            (address("1 rue", "75O11", "Paris"), "postal_code"),
            (address("1 rue", "75011", ""), "city"),
        ] {
            assert_eq!(
                DeliveryAddress::parse(&a).unwrap_err().field(),
                field,
                "{a:?}"
            );
        }
        let long = DeliveryAddress {
            instructions: "x".repeat(INSTRUCTIONS_MAX + 1),
            ..address("1 rue", "75011", "Paris")
        };
        assert_eq!(DeliveryAddress::parse(&long), Err(InputError::Complement));
    }

    #[test]
    fn printers_are_on_the_shops_network_and_their_ports() {
        let ports = 9100..=9109;
        for ok in [
            "192.168.1.50",
            "10.0.0.7",
            "172.16.4.2",
            "127.0.0.1",
            "::1",
            "fd00::12",
        ] {
            assert!(printer_address(ok, 9100, &ports).is_ok(), "{ok}");
        }
        for bad in [
            "169.254.169.254",
            "8.8.8.8",
            "imprimante.local",
            "",
            "fe80::1",
            "0.0.0.0",
        ] {
            assert_eq!(
                printer_address(bad, 9100, &ports),
                Err(InputError::PrinterHost),
                "{bad}"
            );
        }
        assert_eq!(
            printer_address("192.168.1.50", 80, &ports),
            Err(InputError::PrinterPort(9100, 9109))
        );
    }

    #[test]
    fn names_phones_and_quantities_have_their_bounds() {
        assert_eq!(PersonName::parse(" Ada ").unwrap().as_str(), "Ada");
        assert_eq!(PersonName::parse("  "), Err(InputError::Name));
        assert!(PersonName::parse(&"é".repeat(NAME_MAX)).is_ok());
        assert_eq!(
            PersonName::parse(&"é".repeat(NAME_MAX + 1)),
            Err(InputError::Name)
        );
        assert_eq!(Phone::parse("  "), Ok(None));
        assert_eq!(
            Phone::parse(" +33 1 43 00 00 11 ")
                .unwrap()
                .unwrap()
                .as_str(),
            "+33 1 43 00 00 11"
        );
        assert_eq!(
            Phone::parse(&"1".repeat(PHONE_MAX + 1)),
            Err(InputError::Phone)
        );
        assert_eq!(Quantity::new(0), Err(InputError::Quantity));
        assert_eq!(
            Quantity::new(MAX_QUANTITY_PER_LINE).unwrap().get(),
            MAX_QUANTITY_PER_LINE
        );
        assert_eq!(
            Quantity::new(MAX_QUANTITY_PER_LINE + 1),
            Err(InputError::Quantity)
        );
        assert_eq!(Quantity::clamped(99).get(), MAX_QUANTITY_PER_LINE);
    }
}
