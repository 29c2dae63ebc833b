// The libpq layer on its own: parameter and result encodings against a real server.
#include <gtest/gtest.h>

#include "janus/testing/test_database.h"
#include "pg.h"

namespace janus::pg {
namespace {

class PgTest : public ::testing::Test {
 protected:
  testing::TestDatabase db_{/*migrate=*/false};
  Connection connection_{connection_keywords(db_.config()), 5};
};

TEST_F(PgTest, IntegersOfEveryWidthAreSignExtended) {
  auto r = connection_.exec("SELECT $1::BIGINT, (-2)::SMALLINT, (-3)::INTEGER, 70000::INTEGER",
                            Params().int8(-1));
  EXPECT_EQ(r.int8(0, 0), -1);
  EXPECT_EQ(r.int8(0, 1), -2);
  EXPECT_EQ(r.int8(0, 2), -3);
  EXPECT_EQ(r.int8(0, 3), 70000);
  EXPECT_THROW(r.uint8(0, 0), DatastoreError);
  EXPECT_THROW(Params().uint8(std::uint64_t{1} << 63), DatastoreError);
}

TEST_F(PgTest, EmptyByteaIsNotNull) {
  auto r = connection_.exec("SELECT $1::BYTEA, $2::BYTEA, length($1)",
                            Params().bytea(Bytes{}).bytea(std::optional<Bytes>()));
  EXPECT_FALSE(r.is_null(0, 0));
  EXPECT_EQ(r.bytea(0, 0), Bytes{});
  EXPECT_TRUE(r.is_null(0, 1));
  EXPECT_EQ(r.opt_bytea(0, 1), std::nullopt);
  EXPECT_THROW(r.bytea(0, 1), DatastoreError);  // NULL where a value is required
  EXPECT_EQ(r.int8(0, 2), 0);
}

TEST_F(PgTest, ArraysRoundTripIncludingNullsAndEmptyArrays) {
  std::vector<std::optional<ByteSpan>> with_null;
  Bytes a{1, 2, 3};
  with_null.push_back(ByteSpan(a));
  with_null.push_back(std::nullopt);
  with_null.push_back(ByteSpan());
  auto r = connection_.exec(
      "SELECT x IS NULL, x FROM unnest($1::BYTEA[]) WITH ORDINALITY AS t(x, n) ORDER BY n",
      Params().bytea_array(with_null));
  ASSERT_EQ(r.rows(), 3);
  EXPECT_EQ(r.bytea(0, 1), a);
  EXPECT_TRUE(r.boolean(1, 0));
  EXPECT_EQ(r.bytea(2, 1), Bytes{});
  auto sums = connection_.exec(
      "SELECT (SELECT sum(x) FROM unnest($1::BIGINT[]) x)::BIGINT, "
      "cardinality($2::BIGINT[]), array_to_string($3::TEXT[], '|')",
      Params().int8_array({1, -5, 10}).int8_array({}).text_array({"a", "", "ü"}));
  EXPECT_EQ(sums.int8(0, 0), 6);
  EXPECT_EQ(sums.int8(0, 1), 0);
  EXPECT_EQ(sums.text(0, 2), "a||ü");
}

TEST_F(PgTest, JsonbAndEnumsComeBackAsText) {
  connection_.exec_script("CREATE TYPE colour AS ENUM ('RED', 'GREEN')");
  auto r = connection_.exec("SELECT '{\"a\": 1}'::JSONB, $1::colour, $2::BOOLEAN",
                            Params().text("GREEN").boolean(true));
  EXPECT_EQ(r.text(0, 0), "{\"a\": 1}");
  EXPECT_EQ(r.text(0, 1), "GREEN");
  EXPECT_TRUE(r.boolean(0, 2));
}

TEST_F(PgTest, ErrorsCarryTheirSqlstate) {
  connection_.exec_script("CREATE TABLE t (k INTEGER PRIMARY KEY)");
  connection_.exec("INSERT INTO t VALUES (1)");
  try {
    connection_.exec("INSERT INTO t VALUES (1)");
    FAIL() << "duplicate key accepted";
  } catch (const PgError& error) {
    EXPECT_EQ(error.sqlstate(), kUniqueViolation);
    EXPECT_FALSE(error.retryable());
    EXPECT_EQ(connection_.last_error_sqlstate(), kUniqueViolation);
  }
  EXPECT_TRUE(is_retryable_sqlstate("40001"));
  EXPECT_TRUE(is_retryable_sqlstate("40P01"));
  EXPECT_FALSE(is_retryable_sqlstate(""));
  try {
    connection_.exec("SELECT * FROM no_such_table");
    FAIL();
  } catch (const PgError& error) {
    EXPECT_EQ(error.sqlstate(), kUndefinedTable);
  }
}

TEST_F(PgTest, ResultAccessorsCheckBoundsAndTypes) {
  auto r = connection_.exec("SELECT 'text'::TEXT");
  EXPECT_THROW(r.int8(0, 0), DatastoreError);
  EXPECT_THROW(r.boolean(0, 0), DatastoreError);
  EXPECT_THROW(r.text(1, 0), DatastoreError);
  EXPECT_THROW(r.text(0, 1), DatastoreError);
}

}  // namespace
}  // namespace janus::pg
