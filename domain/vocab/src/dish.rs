//! What a dish is, as the menu says it: its [`Category`], the [`Allergen`]s it contains (the 14 of
//! EU regulation 1169/2011, « INCO ») and its [`Diet`]. Ingredients carry these; a dish's come
//! from its recipe and options, so no one types them twice.

use std::fmt;

crate::named_enum! {
    /// Where a product sits on the menu. Pizzas have sizes and options; the others are sold by
    /// the unit.
    pub enum Category {
        Pizza = "pizza",
        Starter = "starter",
        Drink = "drink",
        Dessert = "dessert",
    }
}

impl Category {
    /// The menu's heading.
    pub fn label_fr(self) -> &'static str {
        match self {
            Category::Pizza => "Pizzas",
            Category::Starter => "Entrées",
            Category::Drink => "Boissons",
            Category::Dessert => "Desserts",
        }
    }

    /// Whether the kitchen makes it (a pizza, a starter) rather than hands it over.
    pub fn is_cooked(self) -> bool {
        matches!(self, Category::Pizza | Category::Starter)
    }
}

crate::named_enum! {
    /// What an ingredient means for a diet, from most to least permissive: a dish is as strict
    /// as its least permissive ingredient.
    pub enum Diet {
        Vegan = "vegan",
        Vegetarian = "vegetarian",
        Animal = "animal",
    }
}

impl Diet {
    /// The tag shown on the menu (none for a dish with meat or fish).
    pub fn label_fr(self) -> Option<&'static str> {
        match self {
            Diet::Vegan => Some("Végan"),
            Diet::Vegetarian => Some("Végétarien"),
            Diet::Animal => None,
        }
    }

    /// The diet of a dish made of ingredients of diets `a` and `b`.
    pub fn and(self, other: Diet) -> Diet {
        self.max(other)
    }
}

crate::named_enum! {
    /// The 14 allergens a menu must declare (EU regulation 1169/2011, annex II).
    pub enum Allergen {
        Gluten = "gluten",
        Crustaceans = "crustaceans",
        Eggs = "eggs",
        Fish = "fish",
        Peanuts = "peanuts",
        Soybeans = "soybeans",
        Milk = "milk",
        Nuts = "nuts",
        Celery = "celery",
        Mustard = "mustard",
        Sesame = "sesame",
        Sulphites = "sulphites",
        Lupin = "lupin",
        Molluscs = "molluscs",
    }
}

impl Allergen {
    pub fn label_fr(self) -> &'static str {
        match self {
            Allergen::Gluten => "gluten",
            Allergen::Crustaceans => "crustacés",
            Allergen::Eggs => "œufs",
            Allergen::Fish => "poisson",
            Allergen::Peanuts => "arachides",
            Allergen::Soybeans => "soja",
            Allergen::Milk => "lait",
            Allergen::Nuts => "fruits à coque",
            Allergen::Celery => "céleri",
            Allergen::Mustard => "moutarde",
            Allergen::Sesame => "sésame",
            Allergen::Sulphites => "sulfites",
            Allergen::Lupin => "lupin",
            Allergen::Molluscs => "mollusques",
        }
    }

    fn bit(self) -> u16 {
        let index = Allergen::ALL
            .iter()
            .position(|a| *a == self)
            .expect("every allergen is in ALL");
        1 << index
    }
}

/// A set of allergens, stored as space-separated codes (`"gluten milk"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Allergens(u16);

impl Allergens {
    pub const NONE: Allergens = Allergens(0);

    /// Parses codes separated by spaces or commas; the unknown ones are returned as the error.
    pub fn parse(raw: &str) -> Result<Allergens, String> {
        let mut set = Allergens::NONE;
        let mut unknown = Vec::new();
        for code in raw.split([' ', ',']).filter(|c| !c.is_empty()) {
            match Allergen::parse(code) {
                Some(a) => set.insert(a),
                None => unknown.push(code),
            }
        }
        if unknown.is_empty() {
            Ok(set)
        } else {
            Err(unknown.join(", "))
        }
    }

    pub fn insert(&mut self, a: Allergen) {
        self.0 |= a.bit();
    }

    pub fn contains(self, a: Allergen) -> bool {
        self.0 & a.bit() != 0
    }

    pub fn union(self, other: Allergens) -> Allergens {
        Allergens(self.0 | other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Allergen> {
        Allergen::ALL
            .iter()
            .copied()
            .filter(move |a| self.contains(*a))
    }

    /// « gluten, lait » (empty when none).
    pub fn label_fr(self) -> String {
        self.iter()
            .map(Allergen::label_fr)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The stored form: codes separated by one space, in the regulation's order.
impl fmt::Display for Allergens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let codes: Vec<&str> = self.iter().map(Allergen::as_str).collect();
        f.write_str(&codes.join(" "))
    }
}

impl serde::Serialize for Allergens {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// Whether a remark typed by a customer speaks of an allergy or an intolerance (« allergique
/// aux noix »): the ticket and the kitchen screen then make it impossible to miss.
pub fn mentions_allergy(note: &str) -> bool {
    let lower = note.to_lowercase();
    [
        "allerg",
        "intoléran",
        "intoleran",
        "cœliaque",
        "coeliaque",
        "sans gluten",
    ]
    .iter()
    .any(|w| lower.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allergens_round_trip_in_the_regulations_order() {
        let set = Allergens::parse("milk gluten,milk").unwrap();
        assert_eq!(set.to_string(), "gluten milk");
        assert_eq!(set.label_fr(), "gluten, lait");
        assert_eq!(Allergens::parse(&set.to_string()), Ok(set));
        assert_eq!(Allergens::parse(""), Ok(Allergens::NONE));
        assert_eq!(
            Allergens::parse("gluten peanut lactose"),
            Err("peanut, lactose".into())
        );
        assert_eq!(Allergen::ALL.len(), 14);
    }

    #[test]
    fn remarks_about_allergies_are_recognised() {
        assert!(mentions_allergy("Allergique aux noix !"));
        assert!(mentions_allergy("intolérance au lactose"));
        assert!(mentions_allergy("SANS GLUTEN svp"));
        assert!(!mentions_allergy("bien cuite"));
    }

    #[test]
    fn a_dish_is_as_strict_as_its_least_permissive_ingredient() {
        assert_eq!(Diet::Vegan.and(Diet::Vegetarian), Diet::Vegetarian);
        assert_eq!(Diet::Vegetarian.and(Diet::Animal), Diet::Animal);
        assert_eq!(Diet::Vegan.and(Diet::Vegan), Diet::Vegan);
    }
}
