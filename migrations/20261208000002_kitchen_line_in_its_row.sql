-- The kitchen's state (each order's quarters and its place on the line) moves into the shop's
-- kitchen row: checkouts read it under the row lock they already take. As tables read with
-- locking range scans, their gap locks were shared with the other shops' checkouts, which then
-- waited on one another and deadlocked. The pizzas an order took are its lines' anyway.
ALTER TABLE kitchen_capacity ADD COLUMN line LONGTEXT NOT NULL DEFAULT '[]';

UPDATE kitchen_capacity c SET line = COALESCE((
    SELECT JSON_ARRAYAGG(JSON_OBJECT(
        'order_id', l.order_id,
        'pizzas', l.pizzas,
        'bookings', (SELECT JSON_ARRAYAGG(JSON_ARRAY(DATE_FORMAT(b.quarter_at, '%Y-%m-%dT%H:%i:%s.%fZ'), b.pizzas))
                     FROM kitchen_bookings b WHERE b.order_id = l.order_id),
        'may_start', DATE_FORMAT(l.may_start, '%Y-%m-%dT%H:%i:%s.%fZ'),
        'travel_minutes', l.travel_minutes,
        'promised_at', DATE_FORMAT(l.promised_at, '%Y-%m-%dT%H:%i:%s.%fZ')))
    FROM kitchen_line l WHERE l.pizzeria_id = c.pizzeria_id), '[]');

DROP TABLE kitchen_line;
DROP TABLE kitchen_bookings;
