// shard/: the io_uring runtime. Placeholder so the library exists before the SMTP runtime lands.
namespace salvo {
void ShardModulePlaceholder() {}
}  // namespace salvo
