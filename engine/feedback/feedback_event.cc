// Names of feedback classes.
#include "engine/feedback/feedback_event.h"

namespace salvo {

std::string_view FeedbackClassName(FeedbackClass c) {
  switch (c) {
    case FeedbackClass::kHardBounce: return "hard_bounce";
    case FeedbackClass::kSoftBounce: return "soft_bounce";
    case FeedbackClass::kComplaint: return "complaint";
    case FeedbackClass::kUnsubscribe: return "unsubscribe";
    case FeedbackClass::kIgnore: return "ignore";
  }
  return "ignore";
}

bool ParseFeedbackClass(std::string_view s, FeedbackClass* out) {
  for (FeedbackClass c : {FeedbackClass::kHardBounce, FeedbackClass::kSoftBounce,
                          FeedbackClass::kComplaint, FeedbackClass::kUnsubscribe,
                          FeedbackClass::kIgnore}) {
    if (FeedbackClassName(c) == s) {
      *out = c;
      return true;
    }
  }
  return false;
}

bool Suppresses(FeedbackClass c) {
  return c == FeedbackClass::kHardBounce || c == FeedbackClass::kComplaint ||
         c == FeedbackClass::kUnsubscribe;
}

}  // namespace salvo
