DROP INDEX payments_given_up_idx;
DROP TABLE attention_items;
