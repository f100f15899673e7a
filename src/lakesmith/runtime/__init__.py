"""Where the code runs and what it can reach there: platform, secrets, dbutils."""
