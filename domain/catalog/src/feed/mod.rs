//! `feed-db`: loads the group's seed CSV (format in `docs/feed-db.md`).
//!
//! Two passes keep a bad file from changing anything: [`parse`] checks every row on its own and
//! across rows (duplicates, roles, formats) without touching the database; [`load`] then writes
//! everything inside the caller's transaction, resolving codes against the file and what the
//! database already holds, and reports unknown references by line and column. The caller commits
//! only when both passes found no problem. Every write is an upsert on a natural key, so loading
//! the same file twice changes nothing the second time.
//!
//! # Layout
//! - [`rows`]: the kinds of row, their columns, and the typed rows a file becomes ([`Seed`]);
//! - [`parse`](mod@parse): the first pass, CSV to [`Seed`], every field checked;
//! - [`load`](mod@load): the second pass, [`Seed`] to the database.

use std::fmt;
use std::io::Read;

mod load;
mod parse;
mod rows;

pub use load::load;
pub use parse::parse;
pub use rows::*;

/// One thing wrong with the file, located by line and column (1-based; the kind is column 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub line: u64,
    pub column: usize,
    pub column_name: &'static str,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ligne {}, colonne {} ({}) : {}",
            self.line, self.column, self.column_name, self.message
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("fichier CSV illisible : {0}")]
    Read(String),
    #[error("le fichier a {} problème(s), rien n'a été chargé :\n{}", .0.len(), .0.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// What a load wrote, per kind of row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub pizzerias: usize,
    pub ingredients: usize,
    pub pizzas: usize,
    pub recipe_lines: usize,
    pub recipe_steps: usize,
    /// Sizes, the pizzas' sizes and quantities set for a size.
    pub sizes: usize,
    /// Option groups, options, their prices by size and which pizzas offer them.
    pub options: usize,
    pub stock: usize,
    pub menu: usize,
    pub printers: usize,
    pub zones: usize,
    pub staff: usize,
    pub customers: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} pizzerias, {} ingrédients, {} produits, {} lignes de recette, {} étapes de recette, {} lignes de tailles, {} lignes d'options, {} lignes de stock, {} lignes de carte, {} imprimantes, {} zones de livraison, {} membres du personnel, {} clients",
            self.pizzerias,
            self.ingredients,
            self.pizzas,
            self.recipe_lines,
            self.recipe_steps,
            self.sizes,
            self.options,
            self.stock,
            self.menu,
            self.printers,
            self.zones,
            self.staff,
            self.customers
        )
    }
}

/// Parses and loads a seed file in one transaction: all of it, or nothing.
/// `printer_ports` are the ports a printer row may use (`PRINTER_PORTS`).
pub async fn feed(
    pool: &sqlx::MySqlPool,
    input: impl Read,
    printer_ports: &std::ops::RangeInclusive<u16>,
) -> Result<Summary, FeedError> {
    let seed = parse(input, printer_ports)?;
    let mut tx = pool.begin().await?;
    let summary = load(&mut tx, &seed).await?;
    tx.commit().await?;
    tracing::info!(%summary, "seed file loaded");
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use account::Role;
    use vocab::Cents;

    const PORTS: std::ops::RangeInclusive<u16> = 9100..=9109;

    const GOOD: &str = "\
# a comment
pizzeria,paris-11,OC Pizza Paris 11,12 rue Oberkampf,75011,Paris,+33 1 43 00 00 11,paris11@ocpizza.fr,11:30-14:30 18:00-23:00,mon,delivery pickup
ingredient,mozzarella,Mozzarella,g
pizza,margherita,Margherita,\"Tomate, mozzarella, basilic\",\"9,50\"
recipe_line,margherita,mozzarella,120
recipe_step,margherita,1,Étaler la pâte
stock,paris-11,mozzarella,20000,2000
menu,paris-11,margherita,yes
printer,paris-11,Cuisine,127.0.0.1,9101,main
printer,,Secours,127.0.0.1,9109,backup
staff,gerant@ocpizza.fr,Marie Curie,manager,paris-11,ocpizza-demo
staff,admin@ocpizza.fr,Ada Lovelace,admin,,ocpizza-demo
customer,client@example.fr,Jean Dupont,0600000000,ocpizza-demo,1 rue de Rivoli,75001,Paris
";

    #[test]
    fn a_good_file_parses_every_kind() {
        let seed = parse(GOOD.as_bytes(), &PORTS).unwrap();
        assert_eq!(seed.pizzerias.len(), 1);
        assert!(seed.pizzerias[0].delivery && seed.pizzerias[0].pickup);
        assert_eq!(seed.pizzas[0].price, Cents(950));
        assert_eq!(seed.printers.len(), 2);
        assert!(seed.printers[1].pizzeria.is_none() && seed.printers[1].backup);
        assert_eq!(seed.staff[1].role, Role::Admin);
        assert_eq!(seed.customers.len(), 1);
    }

    fn problems(csv: &str) -> Vec<Problem> {
        match parse(csv.as_bytes(), &PORTS) {
            Err(FeedError::Invalid(p)) => p,
            other => panic!("expected problems, got {other:?}"),
        }
    }

    /// Each kind of bad row, with where it must be reported.
    #[test]
    fn each_kind_of_bad_row_is_reported_by_line_and_column() {
        let cases: &[(&str, usize, &str, &str)] = &[
            ("boisson,coca,Coca", 1, "kind", "type de ligne inconnu"),
            (
                "ingredient,mozzarella,Mozzarella",
                4,
                "unit",
                "de 3 à 6 colonnes",
            ),
            (
                "ingredient,mozzarella,Mozzarella,g,milk,vegetarian,no,extra",
                8,
                "extra",
                "de 3 à 6 colonnes",
            ),
            (
                "ingredient,mozzarella,Mozzarella,g,lactose",
                5,
                "allergens",
                "allergène inconnu : lactose",
            ),
            (
                "ingredient,mozzarella,Mozzarella,g,milk,carnivore",
                6,
                "diet",
                "attendu vegan, vegetarian ou animal",
            ),
            (
                "pizza,reine,Reine,,12,pizza,7",
                7,
                "vat_rate",
                "taux de TVA attendu 5.5, 10 ou 20",
            ),
            (
                "product,coca,Coca,,2.50,boisson,5.5",
                6,
                "category",
                "attendu pizza, starter, drink ou dessert",
            ),
            (
                "product,coca,Coca,,2.50,drink,",
                7,
                "vat_rate",
                "indiquez le taux de TVA",
            ),
            (
                "size,40,40 cm,0",
                4,
                "factor_pct",
                "nombre entier de 10 à 500",
            ),
            (
                "option_group,supplements,Suppléments,3,2",
                4,
                "min_choices",
                "le minimum dépasse le maximum",
            ),
            (
                "option,supplements,extra-mozza,Mozzarella,,50,1.50",
                6,
                "quantity",
                "une quantité sans ingrédient",
            ),
            (
                "option,supplements,extra-mozza,Mozzarella,mozzarella,50,gratuit",
                7,
                "price_eur",
                "n'est pas un montant en euros",
            ),
            ("pizza_size,reine,40,0", 4, "price_eur", "n'est pas un prix"),
            (
                "ingredient,Mozzarella!,Mozzarella,g",
                2,
                "code",
                "n'est pas un code",
            ),
            (
                "ingredient,mozzarella,,g",
                3,
                "name",
                "ne doit pas être vide",
            ),
            (
                "ingredient,mozzarella,Mozzarella,kg",
                4,
                "unit",
                "n'est pas une unité",
            ),
            (
                "pizza,reine,Reine,,douze",
                5,
                "price_eur",
                "n'est pas un prix",
            ),
            ("pizza,reine,Reine,,0", 5, "price_eur", "n'est pas un prix"),
            (
                "recipe_line,reine,jambon,-5",
                4,
                "quantity",
                "nombre entier",
            ),
            ("recipe_line,reine,jambon,0", 4, "quantity", "nombre entier"),
            (
                "recipe_step,reine,zero,Cuire",
                3,
                "position",
                "nombre entier",
            ),
            (
                "stock,paris-11,jambon,12.5,10",
                4,
                "quantity",
                "nombre entier",
            ),
            (
                "stock,paris-11,jambon,10,-1",
                5,
                "low_threshold",
                "nombre entier",
            ),
            ("menu,paris-11,reine,peut-être", 4, "available", "yes ou no"),
            (
                "printer,paris-11,Cuisine,169.254.169.254,80,main",
                4,
                "host",
                "n'est pas une imprimante de cuisine",
            ),
            (
                "printer,paris-11,Cuisine,127.0.0.1,99999,main",
                5,
                "port",
                "nombre entier",
            ),
            (
                "printer,paris-11,Cuisine,127.0.0.1,9100,spare",
                6,
                "role",
                "main ou backup",
            ),
            (
                "printer,paris-11,Cuisine,bad host!,9100,main",
                4,
                "host",
                "nom d'hôte",
            ),
            (
                "delivery_zone,paris-11,75011 7502,2.50",
                3,
                "postal_codes",
                "code postal français",
            ),
            (
                "delivery_zone,paris-11,75011,deux euros",
                4,
                "fee_eur",
                "montant en euros",
            ),
            (
                "delivery_zone,paris-11,75011,0,15,gratuit",
                6,
                "free_from_eur",
                "montant en euros",
            ),
            (
                "delivery_zone,paris-11,75011,0,15,,trois heures",
                7,
                "ride_minutes",
                "nombre entier de 1 à 120",
            ),
            (
                "staff,not-an-email,Jean,manager,paris-11,ocpizza-demo",
                2,
                "email",
                "e-mail",
            ),
            (
                "staff,a@ocpizza.fr,Jean,chef,paris-11,ocpizza-demo",
                4,
                "role",
                "n'est pas un rôle",
            ),
            (
                "staff,a@ocpizza.fr,Jean,customer,paris-11,ocpizza-demo",
                4,
                "role",
                "lignes customer",
            ),
            (
                "staff,a@ocpizza.fr,Jean,manager,,ocpizza-demo",
                5,
                "pizzeria_code",
                "indiquez son code",
            ),
            (
                "staff,a@ocpizza.fr,Jean,admin,paris-11,ocpizza-demo",
                5,
                "pizzeria_code",
                "laissez vide",
            ),
            (
                "staff,a@ocpizza.fr,Jean,manager,paris-11,short",
                6,
                "password",
                "au moins 10",
            ),
            (
                "customer,c@example.fr,Jean,06,ocpizza-demo,1 rue,750,Paris",
                7,
                "postal_code",
                "code postal",
            ),
            (
                "pizzeria,p1,P,1 rue,75011,Paris,01,p@ocpizza.fr,25:00-26:00,,pickup",
                9,
                "opening_hours",
                "",
            ),
            (
                "pizzeria,p1,P,1 rue,75011,Paris,01,p@ocpizza.fr,11:00-14:00,lundi,pickup",
                10,
                "closed_days",
                "",
            ),
            (
                "pizzeria,p1,P,1 rue,75011,Paris,01,p@ocpizza.fr,11:00-14:00,,takeaway",
                11,
                "services",
                "delivery, pickup",
            ),
        ];
        for (row, column, column_name, message) in cases {
            let csv = format!("# header comment, with a comma\n\n{row}\n");
            let found = problems(&csv);
            assert_eq!(found.len(), 1, "{row}: {found:?}");
            let p = &found[0];
            assert_eq!(
                (p.line, p.column, p.column_name),
                (3, *column, *column_name),
                "{row}: {p}"
            );
            assert!(p.message.contains(message), "{row}: {p}");
        }
    }

    #[test]
    fn duplicates_are_reported_at_the_second_occurrence() {
        let csv = "ingredient,jambon,Jambon,g\ningredient,basilic,Basilic,g\ningredient,jambon,Jambon blanc,g\n";
        let p = problems(csv);
        assert_eq!(p.len(), 1);
        assert_eq!(
            p[0].to_string(),
            "ligne 3, colonne 2 (code) : doublon de la ligne 1"
        );
    }

    #[test]
    fn every_problem_is_reported_not_just_the_first() {
        let p = problems("ingredient,jambon,Jambon,kg\npizza,reine,,,abc\n");
        let located: Vec<_> = p.iter().map(|p| (p.line, p.column_name)).collect();
        assert_eq!(located, [(1, "unit"), (2, "name"), (2, "price_eur")]);
    }

    #[test]
    fn passwords_are_never_echoed() {
        let p = problems("staff,a@ocpizza.fr,Jean,manager,paris-11,tiny-pw\n");
        assert!(!p[0].to_string().contains("tiny-pw"));
    }

    #[test]
    fn bad_utf8_is_a_problem_not_a_panic() {
        let bytes = b"ingredient,jambon,Jamb\xff\xfeon,g\n";
        assert!(matches!(
            parse(&bytes[..], &PORTS),
            Err(FeedError::Invalid(_))
        ));
    }
}
