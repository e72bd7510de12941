#include "engine/base/types.h"

#include <iterator>

#include "engine/base/enum_names.h"

namespace salvo {
namespace {

using R = SuppressionReason;
constexpr EnumName<R> kReasons[] = {
    {R::kUnsubscribe, "unsubscribe"}, {R::kHardBounce, "hard_bounce"},
    {R::kComplaint, "complaint"}, {R::kManual, "manual"}};
static_assert(std::size(kReasons) == static_cast<size_t>(R::kManual) + 1);

using O = Outcome;
constexpr EnumName<O> kOutcomes[] = {
    {O::kPending, "pending"},       {O::kDelivered, "delivered"},
    {O::kDeferred, "deferred"},     {O::kBounced, "bounced"},
    {O::kFailed, "failed"},         {O::kSuppressed, "suppressed"},
    {O::kNoConsent, "no_consent"},  {O::kOutsideSegment, "outside_segment"}};
static_assert(std::size(kOutcomes) == static_cast<size_t>(O::kOutsideSegment) + 1);

}  // namespace

std::string_view SuppressionReasonName(SuppressionReason r) { return NameIn(kReasons, r, "manual"); }

bool ParseSuppressionReason(std::string_view s, SuppressionReason* out) {
  return ValueIn(kReasons, s, out);
}

std::string_view OutcomeName(Outcome o) { return NameIn(kOutcomes, o, "pending"); }

}  // namespace salvo
