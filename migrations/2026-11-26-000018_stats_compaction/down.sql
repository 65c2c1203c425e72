DROP FUNCTION fold_stats_shards(date, date);
DROP INDEX instructor_stats_monthly_unfolded_idx;
DROP INDEX payment_stats_daily_unfolded_idx;
