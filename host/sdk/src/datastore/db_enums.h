// How the datastore's enums and batch identifiers are spelled in the database.
#pragma once

#include <string>
#include <string_view>

#include "janus/datastore/errors.h"
#include "janus/datastore/records.h"

namespace janus::db_enums {

std::string_view to_db(Role role);  // LEADER / HELPER
Role role_from_db(std::string_view text);
std::string_view to_db(AuthTokenType type);
AuthTokenType token_type_from_db(std::string_view text);
std::string_view to_db(HpkeKeyState state);
HpkeKeyState hpke_key_state_from_db(std::string_view text);
std::string_view to_db(AggregationJobState state);
AggregationJobState aggregation_job_state_from_db(std::string_view text);
std::string_view to_db(ReportAggregationState state);
ReportAggregationState report_aggregation_state_from_db(std::string_view text);
std::string_view to_db(BatchAggregationState state);
BatchAggregationState batch_aggregation_state_from_db(std::string_view text);
std::string_view to_db(CollectionJobState state);
CollectionJobState collection_job_state_from_db(std::string_view text);
std::string_view to_db(OutstandingBatchState state);
OutstandingBatchState outstanding_batch_state_from_db(std::string_view text);

// Inverse of encode_batch_identifier: 16 bytes are an Interval, 32 a BatchId; throws
// DatastoreError on anything else.
BatchIdentifier decode_batch_identifier(ByteSpan encoded);

}  // namespace janus::db_enums
