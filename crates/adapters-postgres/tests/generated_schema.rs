//! `src/schema.rs` (what diesel compiles queries against) describes the
//! database the migrations build: the same tables, primary keys, columns,
//! SQL types and nullability, in the order `diesel print-schema` writes them.
//! Read from PostgreSQL's catalog after the migrations, so no diesel_cli is
//! needed; `just schema` regenerates the file when this fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use adapters_postgres::testing::TestDb;
use diesel::sql_types::{Integer, Text};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, sql_query};

const SCHEMA_RS: &str = include_str!("../src/schema.rs");

/// One table as schema.rs or the database has it; columns in order, each
/// with its type spelled as diesel spells it (`Nullable<Int8>`).
#[derive(Debug, Default, PartialEq)]
struct Table {
    primary_key: Vec<String>,
    columns: Vec<(String, String)>,
}

type Tables = BTreeMap<String, Table>;

/// The tables declared by the `diesel::table!` blocks of schema.rs. Any
/// line it does not understand fails the test, so nothing is skipped.
fn declared(source: &str) -> Tables {
    let mut tables = Tables::new();
    let mut lines = source.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with("//"));
    while let Some(line) = lines.next() {
        if line != "diesel::table! {" {
            continue;
        }
        let header = lines.next().expect("a table name after `diesel::table! {`");
        let (name, rest) = header.split_once(" (").unwrap_or_else(|| panic!("unexpected table header {header:?}"));
        let keys = rest.strip_suffix(") {").unwrap_or_else(|| panic!("unexpected table header {header:?}"));
        let mut table = Table { primary_key: keys.split(", ").map(str::to_owned).collect(), columns: Vec::new() };
        for line in lines.by_ref() {
            if line == "}" {
                break;
            }
            let (column, sql_type) = line.strip_suffix(',').and_then(|l| l.split_once(" -> ")).unwrap_or_else(|| {
                panic!("schema.rs line {line:?} in {name} is not `column -> Type,` (extend this reader)")
            });
            table.columns.push((column.to_owned(), sql_type.to_owned()));
        }
        assert_eq!(lines.next(), Some("}"), "{name}: the table! block does not close");
        tables.insert(name.to_owned(), table);
    }
    tables
}

#[derive(QueryableByName)]
struct CatalogColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    udt_name: String,
    #[diesel(sql_type = Text)]
    is_nullable: String,
}

#[derive(QueryableByName)]
struct KeyColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Integer)]
    position: i32,
}

/// How `diesel print-schema` names a PostgreSQL type (`udt_name`); arrays
/// (`_int8`) become `Array<Nullable<Int8>>` because PostgreSQL does not
/// say whether their elements may be NULL.
fn diesel_type(udt_name: &str) -> String {
    if let Some(element) = udt_name.strip_prefix('_') {
        return format!("Array<Nullable<{}>>", diesel_type(element));
    }
    let known = match udt_name {
        "int2" => "Int2",
        "int4" => "Int4",
        "int8" => "Int8",
        "numeric" => "Numeric",
        "text" => "Text",
        "varchar" => "Varchar",
        "bpchar" => "Bpchar",
        "bool" => "Bool",
        "bytea" => "Bytea",
        "date" => "Date",
        "timestamptz" => "Timestamptz",
        "timestamp" => "Timestamp",
        "uuid" => "Uuid",
        "json" => "Json",
        "jsonb" => "Jsonb",
        "inet" => "Inet",
        other => return format!("<PostgreSQL type {other}: teach this test its diesel name>"),
    };
    known.to_owned()
}

/// The tables of the `public` schema as the catalog describes them (the
/// migrations' own bookkeeping table aside, as diesel leaves it out too).
fn in_database(conn: &mut PgConnection) -> Tables {
    let columns: Vec<CatalogColumn> = sql_query(
        "SELECT c.table_name::text AS table_name, c.column_name::text AS column_name,
                c.udt_name::text AS udt_name, c.is_nullable::text AS is_nullable
         FROM information_schema.columns c
         JOIN information_schema.tables t USING (table_schema, table_name)
         WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
           AND c.table_name <> '__diesel_schema_migrations'
         ORDER BY c.table_name, c.ordinal_position",
    )
    .load(conn)
    .unwrap();
    let keys: Vec<KeyColumn> = sql_query(
        "SELECT k.table_name::text AS table_name, k.column_name::text AS column_name,
                k.ordinal_position::int AS position
         FROM information_schema.table_constraints c
         JOIN information_schema.key_column_usage k USING (constraint_schema, constraint_name, table_name)
         WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = 'public'
           AND k.table_name <> '__diesel_schema_migrations'
         ORDER BY k.table_name, k.ordinal_position",
    )
    .load(conn)
    .unwrap();
    let mut tables = Tables::new();
    for column in columns {
        let sql_type = diesel_type(&column.udt_name);
        let sql_type = if column.is_nullable == "YES" { format!("Nullable<{sql_type}>") } else { sql_type };
        tables.entry(column.table_name).or_default().columns.push((column.column_name, sql_type));
    }
    for key in keys {
        let table = tables.entry(key.table_name).or_default();
        assert_eq!(table.primary_key.len() + 1, key.position as usize, "key columns arrive in order");
        table.primary_key.push(key.column_name);
    }
    tables
}

/// Every way `declared` differs from `actual`, one line each.
fn differences(declared: &Tables, actual: &Tables) -> Vec<String> {
    let mut found = Vec::new();
    for name in declared.keys().filter(|name| !actual.contains_key(*name)) {
        found.push(format!("schema.rs declares table {name}, which the migrations do not create"));
    }
    for name in actual.keys().filter(|name| !declared.contains_key(*name)) {
        found.push(format!("the migrations create table {name}, which schema.rs lacks"));
    }
    for (name, mine) in declared {
        let Some(theirs) = actual.get(name) else { continue };
        if mine.primary_key != theirs.primary_key {
            found.push(format!("{name}: schema.rs keys {:?}, the database {:?}", mine.primary_key, theirs.primary_key));
        }
        let type_of = |table: &Table, column: &str| {
            table.columns.iter().find(|(c, _)| c == column).map(|(_, sql_type)| sql_type.clone())
        };
        for (column, sql_type) in &mine.columns {
            match type_of(theirs, column) {
                None => found.push(format!("schema.rs declares {name}.{column}, which does not exist")),
                Some(actual) if actual != *sql_type => {
                    found.push(format!("{name}.{column}: schema.rs says {sql_type}, the database {actual}"))
                }
                Some(_) => {}
            }
        }
        for (column, sql_type) in &theirs.columns {
            if type_of(mine, column).is_none() {
                found.push(format!("{name}.{column} ({sql_type}) exists in the database but not in schema.rs"));
            }
        }
        let order = |table: &Table| table.columns.iter().map(|(c, _)| c.clone()).collect::<Vec<_>>();
        if found.is_empty() && order(mine) != order(theirs) {
            found.push(format!("{name}: columns in another order than the database's {:?}", order(theirs)));
        }
    }
    found
}

fn migrated() -> (TestDb, PgConnection) {
    let db = TestDb::new();
    let conn = PgConnection::establish(db.url()).unwrap();
    (db, conn)
}

#[test]
fn schema_rs_matches_the_migrated_database() {
    let (_db, mut conn) = migrated();
    let declared = declared(SCHEMA_RS);
    assert!(declared.len() >= 20 && declared.contains_key("payments"), "schema.rs read as {:?}", declared.keys());

    let found = differences(&declared, &in_database(&mut conn));

    assert!(found.is_empty(), "src/schema.rs is out of date; run `just schema`:\n{}", found.join("\n"));
}

#[test]
fn a_column_or_table_on_one_side_only_is_reported() {
    let (_db, mut conn) = migrated();
    for change in [
        "ALTER TABLE payments ADD COLUMN settled_at timestamptz",
        "ALTER TABLE refunds DROP COLUMN reason",
        "ALTER TABLE payouts ALTER COLUMN paid_at SET NOT NULL",
        "ALTER TABLE rate_limit_counters ALTER COLUMN hits TYPE int8",
        "CREATE TABLE settlements (id uuid PRIMARY KEY)",
        "DROP TABLE second_approvals CASCADE",
    ] {
        sql_query(change).execute(&mut conn).unwrap();
    }

    let found = differences(&declared(SCHEMA_RS), &in_database(&mut conn));

    let expected = [
        "payments.settled_at (Nullable<Timestamptz>) exists in the database but not in schema.rs",
        "schema.rs declares refunds.reason, which does not exist",
        "payouts.paid_at: schema.rs says Nullable<Timestamptz>, the database Timestamptz",
        "rate_limit_counters.hits: schema.rs says Int4, the database Int8",
        "the migrations create table settlements, which schema.rs lacks",
        "schema.rs declares table second_approvals, which the migrations do not create",
    ];
    for line in expected {
        assert!(found.iter().any(|f| f == line), "{line:?} not among {found:#?}");
    }
    assert_eq!(found.len(), expected.len(), "{found:#?}");
}

#[test]
fn the_reader_refuses_a_line_it_does_not_understand() {
    let source = "diesel::table! {\n    t (id) {\n        id -> Int8,\n        #[max_length = 3]\n    }\n}\n";
    let refused = std::panic::catch_unwind(|| declared(source));
    assert!(refused.is_err(), "an attribute line was skipped silently");
    let read =
        declared("diesel::table! {\n    t (a, b) {\n        a -> Int8,\n        b -> Nullable<Text>,\n    }\n}\n");
    let table = &read["t"];
    assert_eq!(table.primary_key, ["a", "b"]);
    assert_eq!(table.columns, [("a".to_owned(), "Int8".to_owned()), ("b".to_owned(), "Nullable<Text>".to_owned())]);
}
