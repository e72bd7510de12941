// Names of feedback classes.
#include "engine/feedback/feedback_event.h"

#include <iterator>

#include "engine/base/enum_names.h"

namespace salvo {
namespace {

using C = FeedbackClass;
constexpr EnumName<C> kClasses[] = {{C::kHardBounce, "hard_bounce"},
                                    {C::kSoftBounce, "soft_bounce"},
                                    {C::kComplaint, "complaint"},
                                    {C::kUnsubscribe, "unsubscribe"},
                                    {C::kIgnore, "ignore"}};
static_assert(std::size(kClasses) == static_cast<size_t>(C::kIgnore) + 1);

}  // namespace

std::string_view FeedbackClassName(FeedbackClass c) { return NameIn(kClasses, c, "ignore"); }

bool ParseFeedbackClass(std::string_view s, FeedbackClass* out) {
  return ValueIn(kClasses, s, out);
}

bool Suppresses(FeedbackClass c) {
  return c == FeedbackClass::kHardBounce || c == FeedbackClass::kComplaint ||
         c == FeedbackClass::kUnsubscribe;
}

}  // namespace salvo
