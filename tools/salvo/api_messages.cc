// Inject API; see api_messages.h.
#include "tools/salvo/api_messages.h"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "engine/api/inject_request.h"
#include "engine/base/address.h"
#include "engine/base/clock.h"
#include "engine/base/json.h"
#include "engine/base/shard.h"
#include "engine/base/strings.h"
#include "engine/config/campaign.h"
#include "engine/smtp/raw_message.h"
#include "store/link_store.h"
#include "store/queue_store.h"
#include "store/suppression_store.h"
#include "tools/salvo/queue_render.h"

namespace salvo {
namespace {

// A structured request as a campaign, under a random id; one with tracked links is compiled
// again under SharedLinkTableId.
absl::StatusOr<CampaignConfig> CampaignOf(const InjectRequest& in) {
  CampaignConfig c;
  unsigned char rnd[8];
  if (RAND_bytes(rnd, sizeof rnd) != 1) return absl::InternalError("RAND_bytes failed");
  c.id = "api.";
  for (unsigned char b : rnd) absl::StrAppend(&c.id, absl::Hex(b, absl::kZeroPad2));
  c.path = "request";
  c.from = in.from;
  c.reply_to = in.reply_to;
  c.subject = in.subject;
  c.track_clicks = in.track;
  c.track_opens = in.track;
  if (HasLineBreak(in.from)) return absl::InvalidArgumentError("content.from: contains a line break");
  if (HasLineBreak(in.reply_to))
    return absl::InvalidArgumentError("content.reply_to: contains a line break");
  for (const auto& [name, value] : in.headers) {
    if (!ValidHeaderName(name))
      return absl::InvalidArgumentError(
          absl::StrCat("content.headers.", SanitizeForLog(name, 64), ": not a valid header name"));
    if (HasLineBreak(value))
      return absl::InvalidArgumentError(
          absl::StrCat("content.headers.", name, ": contains a line break"));
    c.headers.emplace_back(name, value);
  }
  return c;
}

// The id of a request's link table: "api." and 128 bits of SHA-256 over its URLs (each length
// prefixed), so requests with the same links share one table instead of adding one each.
std::string SharedLinkTableId(const std::vector<std::string>& links) {
  std::string all;
  for (const std::string& url : links) {
    const uint64_t n = url.size();
    for (int i = 0; i < 8; ++i) all.push_back(static_cast<char>(n >> (56 - 8 * i)));
    all.append(url);
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(all.data()), all.size(), digest);
  std::string id = "api.";
  for (int i = 0; i < 16; ++i) absl::StrAppend(&id, absl::Hex(digest[i], absl::kZeroPad2));
  return id;
}

std::string JsonStrings(const std::vector<std::string>& v) {
  std::string j("[");
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) j.push_back(',');
    AppendJsonString(&j, v[i]);
  }
  j.push_back(']');
  return j;
}

}  // namespace

HttpResponse MessagesApi::Post(const HttpRequest& req, const ApiKey& key) {
  auto parsed = ParseInjectRequest(req.body);
  if (!parsed.ok()) return JsonError(400, parsed.status());
  const InjectRequest& in = *parsed;

  std::string route = in.route;
  if (!key.route.empty()) {
    if (!route.empty() && route != key.route)
      return JsonError(403, absl::StrCat("api key \"", key.name, "\" may only use route \"",
                                         key.route, "\""));
    route = key.route;
  }
  if (route.empty()) return JsonError(400, "route: is required (the key has no route)");
  if (config_.FindRoute(route) == nullptr)
    return JsonError(400, absl::StrCat("route: \"", SanitizeForLog(route, 64),
                                       "\" is not a [[route]] of salvo.toml"));

  std::string sender;
  if (!in.envelope_sender.empty()) {
    auto s = NormalizeAddress(in.envelope_sender);
    if (!s.ok()) return JsonError(400, absl::StrCat("envelope_sender: ", s.status().message()));
    sender = s->address;
  } else if (!in.raw) {
    auto s = EnvelopeSenderOf(in.from);
    if (!s.ok()) return JsonError(400, absl::StrCat("content.", s.status().message()));
    sender = *std::move(s);
  }

  // Recipients: addresses, duplicates, then suppression.
  std::vector<std::string> failed, errors;
  std::vector<Recipient> good;
  std::vector<const InjectRecipient*> good_in;
  std::set<std::string> seen;
  for (const InjectRecipient& r : in.recipients) {
    auto a = NormalizeAddress(r.email);
    if (!a.ok()) {
      failed.push_back(r.email);
      errors.push_back(std::string(a.status().message()));
      continue;
    }
    if (!seen.insert(a->key).second) {
      failed.push_back(r.email);
      errors.push_back(absl::StrCat("recipient \"", a->address, "\" given twice"));
      continue;
    }
    Recipient rc;
    rc.address = std::move(a->address);
    rc.key = std::move(a->key);
    rc.shard = ShardOf(rc.key);
    good.push_back(std::move(rc));
    good_in.push_back(&r);
  }
  std::vector<std::string_view> keys;
  for (const Recipient& r : good) keys.push_back(r.key);
  std::vector<bool> suppressed;
  if (absl::Status st = SuppressionStore(store_).CheckBatch(keys, &suppressed); !st.ok())
    return JsonError(503, st);

  const std::string origin = absl::StrCat("api-key:", key.name);
  std::vector<NewMessage> messages;
  std::shared_ptr<const CompiledCampaign> compiled;
  if (!in.raw) {
    if (!config_.tracking || config_.tracking->secret.empty())
      return JsonError(503, "structured content needs [tracking] (base_url, secret_file) in salvo.toml");
    auto campaign = CampaignOf(in);
    if (!campaign.ok()) return JsonError(400, campaign.status());
    std::string html = in.html_body;
    if (html.empty()) html = absl::StrCat("<pre>", HtmlEscape(in.text_body), "</pre>");
    std::optional<std::string> text;
    if (!in.text_body.empty()) text = in.text_body;
    auto c = CompileForQueueFromSources(*campaign, config_, html, text, keys_);
    if (!c.ok()) return JsonError(400, absl::StrCat("content: ", c.status().message()));
    if (!(*c)->links().empty()) {
      // Compiled again under the id its links give (tokens and bounce tags carry the id).
      campaign->id = SharedLinkTableId((*c)->links());
      c = CompileForQueueFromSources(*campaign, config_, std::move(html), std::move(text), keys_);
      if (!c.ok()) return JsonError(400, absl::StrCat("content: ", c.status().message()));
    }
    compiled = *std::move(c);
  }
  NewMessage raw;
  for (size_t i = 0; i < good.size(); ++i) {
    if (suppressed[i]) {
      failed.push_back(good_in[i]->email);
      errors.push_back(absl::StrCat(good[i].address, ": suppressed"));
      continue;
    }
    if (in.raw) {
      raw.recipients.push_back(good[i].address);
      continue;
    }
    Recipient& r = good[i];
    r.fields = good_in[i]->substitutions;
    auto body = RenderForQueue(*compiled, r);
    if (!body.ok()) {
      failed.push_back(good_in[i]->email);
      errors.push_back(std::string(body.status().message()));
      continue;
    }
    NewMessage m;
    m.route = route;
    m.sender = sender;
    m.recipients = {r.address};
    m.body = *std::move(body);
    m.origin = origin;
    messages.push_back(std::move(m));
  }
  if (in.raw && !raw.recipients.empty()) {
    raw.route = route;
    raw.sender = sender;
    raw.body = NormalizeCrlf(in.raw_content);
    raw.origin = origin;
    messages.push_back(std::move(raw));
  }
  std::vector<std::string> ids;
  if (!messages.empty()) {
    if (compiled && !compiled->links().empty()) {
      const CompiledCampaign& c = *compiled;
      if (absl::Status st = LinkStore(store_).PutShared(c.campaign().id, c.links(), NowUnixMicros());
          !st.ok())
        return JsonError(503, st);
    }
    auto q = QueueStore(store_).Enqueue(messages);
    if (!q.ok()) {
      const int status = absl::IsResourceExhausted(q.status()) ? 413
                         : absl::IsInvalidArgument(q.status()) ? 400
                                                               : 503;
      return JsonError(status, q.status());
    }
    ids = *std::move(q);
  }
  return Json(202, absl::StrCat("{\"success_count\":", ids.size(), ",\"fail_count\":",
                                failed.size(), ",\"failed_recipients\":", JsonStrings(failed),
                                ",\"errors\":", JsonStrings(errors), ",\"ids\":", JsonStrings(ids),
                                "}"));
}

}  // namespace salvo
