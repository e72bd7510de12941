// Campaign link tables in Cf::kCampaigns: "links\0<campaign_id>\0<index u32 BE>" -> URL.
// Trust: campaign ids and URLs come from our own compiled templates; Get() is called by the
// click redirector with values from a verified token, still bounded (id <= 255 bytes).
#include "store/link_store.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/base/strings.h"
#include "store/rocks_status.h"
#include "store/store_internals.h"

namespace salvo {
namespace {

std::string Prefix(std::string_view campaign_id) {
  std::string k("links");
  k.push_back('\0');
  k.append(campaign_id);
  k.push_back('\0');
  return k;
}

std::string Key(std::string_view campaign_id, uint32_t index) {
  std::string k = Prefix(campaign_id);
  k.push_back(static_cast<char>(index >> 24));
  k.push_back(static_cast<char>(index >> 16));
  k.push_back(static_cast<char>(index >> 8));
  k.push_back(static_cast<char>(index));
  return k;
}

}  // namespace

absl::Status LinkStore::Put(std::string_view campaign_id, const std::vector<std::string>& urls) {
  if (campaign_id.empty() || campaign_id.size() > 255)
    return absl::InvalidArgumentError("campaign id must be 1-255 bytes");
  rocksdb::WriteBatch batch;
  std::string begin = Prefix(campaign_id);
  std::string end = begin;
  end.back() = '\1';  // just past every "links\0id\0..." key
  rocksdb::Status s = batch.DeleteRange(CfOf(store_, Cf::kCampaigns), begin, end);
  if (!s.ok()) return FromRocks(s, "link store delete");
  for (size_t i = 0; i < urls.size(); ++i) {
    s = batch.Put(CfOf(store_, Cf::kCampaigns), Key(campaign_id, static_cast<uint32_t>(i)), urls[i]);
    if (!s.ok()) return FromRocks(s, "link store put");
  }
  rocksdb::WriteOptions wo;
  wo.sync = false;
  return FromRocks(DbOf(store_)->Write(wo, &batch), "link store write");
}

absl::StatusOr<std::optional<std::string>> LinkStore::Get(std::string_view campaign_id,
                                                          uint32_t index) {
  if (campaign_id.empty() || campaign_id.size() > 255) return std::optional<std::string>();
  std::string value;
  rocksdb::Status s = DbOf(store_)->Get(rocksdb::ReadOptions(), CfOf(store_, Cf::kCampaigns),
                                        Key(campaign_id, index), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "link store get");
  return std::optional<std::string>(std::move(value));
}

}  // namespace salvo
