//! Who may use which staff screen, for which pizzeria. Checked on the server for every staff
//! request; the screens only hide what the rules would refuse anyway.

use crate::Role;

/// The staff screens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    /// Orders to prepare, recipes, reprints.
    Kitchen,
    /// Orders taken at the counter or by phone; handing over pickups.
    Counter,
    /// Deliveries to take out, payment collected at the door.
    Delivery,
    /// The pizzeria's board, stock and figures.
    Management,
    /// The whole group: pizzerias, menu, printers, staff.
    Admin,
    /// The live feed every staff screen of a pizzeria listens to.
    Live,
}

impl Screen {
    pub const ALL: [Screen; 6] = [
        Screen::Kitchen,
        Screen::Counter,
        Screen::Delivery,
        Screen::Management,
        Screen::Admin,
        Screen::Live,
    ];

    /// The roles that work on this screen (the group admin everywhere, the manager everywhere in
    /// their pizzeria).
    pub fn roles(self) -> &'static [Role] {
        match self {
            Screen::Kitchen => &[Role::Pizzaiolo, Role::Manager, Role::Admin],
            Screen::Counter => &[Role::Counter, Role::Manager, Role::Admin],
            Screen::Delivery => &[Role::Delivery, Role::Manager, Role::Admin],
            Screen::Management => &[Role::Manager, Role::Admin],
            Screen::Admin => &[Role::Admin],
            Screen::Live => &[
                Role::Pizzaiolo,
                Role::Counter,
                Role::Delivery,
                Role::Manager,
                Role::Admin,
            ],
        }
    }
}

/// The answer to "may this user use this screen for this pizzeria?".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Granted,
    /// Not a role of this screen.
    WrongRole,
    /// Staff of another pizzeria (answered as "not found", so codes cannot be probed).
    OtherPizzeria,
}

/// `pizzeria_id` is the pizzeria the request is about (`None` for group-wide screens).
pub fn check(
    role: Role,
    own_pizzeria: Option<u64>,
    screen: Screen,
    pizzeria_id: Option<u64>,
) -> Access {
    if !screen.roles().contains(&role) {
        return Access::WrongRole;
    }
    if role == Role::Admin {
        return Access::Granted;
    }
    match pizzeria_id {
        Some(p) if own_pizzeria == Some(p) => Access::Granted,
        Some(_) => Access::OtherPizzeria,
        None => Access::WrongRole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_reaches_only_its_screens_in_its_own_pizzeria() {
        for role in Role::ALL {
            for screen in Screen::ALL {
                let own = check(role, Some(1), screen, Some(1));
                let other = check(role, Some(1), screen, Some(2));
                let expected = screen.roles().contains(&role);
                assert_eq!(own == Access::Granted, expected, "{role:?} on {screen:?}");
                if role != Role::Admin {
                    assert_ne!(other, Access::Granted, "{role:?} elsewhere on {screen:?}");
                }
            }
        }
    }

    #[test]
    fn customers_reach_nothing_and_admins_everything() {
        for screen in Screen::ALL {
            assert_eq!(
                check(Role::Customer, None, screen, Some(1)),
                Access::WrongRole
            );
            assert_eq!(check(Role::Admin, None, screen, Some(7)), Access::Granted);
            assert_eq!(check(Role::Admin, None, screen, None), Access::Granted);
        }
        assert_eq!(
            check(Role::Manager, Some(1), Screen::Admin, None),
            Access::WrongRole
        );
        assert_eq!(
            check(Role::Pizzaiolo, Some(1), Screen::Kitchen, Some(2)),
            Access::OtherPizzeria
        );
    }
}
