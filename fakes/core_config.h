// The DRM core and grant table in versions: what a scenario's "core" object
// selects (docs/fakes.md, "Core versions"). Each switch is a behaviour of the
// kernel's own code (not the driver's) that changed at a public commit; a
// version turns on every switch whose commit it contains, and a scenario may
// name switches besides. The default is the 5.10 core the model follows
// everywhere else, so a scenario without "core" runs as before.
#pragma once

#include <cstdint>

namespace xfsim::fakes {

struct CoreConfig {
  // The core version, for messages and for_version; 5.10 unless a scenario
  // says otherwise.
  uint32_t major = 5, minor = 10;
  // drm_dev_unplug ends with unmap_mapping_range(dev->anon_inode->i_mapping,
  // 0, 0, 1): every CPU mapping of the device's files is zapped at unplug.
  // b9d4efa8f9a2 ("drm: Unamp the entire device address space on device
  // unplug"), v5.14. Before it, zapping is the driver's job.
  bool drm_dev_unplug_unmaps = false;
  // gnttab_end_foreign_access with no page, on a grant the other domain still
  // maps, takes a reference to the granted page (read_frame + get_page in
  // gnttab_add_deferred) and drops it when the deferred end finally
  // succeeds, so the caller's own free of the page no longer frees it under
  // the mapping. 42baefac638f ("xen/gnttab: fix gnttab_end_foreign_access()
  // without page specified", XSA-396 / CVE-2022-23041), v5.17-rc8; in stable
  // from 4.9.306, 4.14.271, 4.19.234, 5.4.184, 5.10.105, 5.15.28, 5.16.14.
  bool gnttab_deferred_end_holds_page = false;

  // The switches a mainline release has (stable backports are named switches).
  static CoreConfig for_version(uint32_t major, uint32_t minor) {
    CoreConfig config;
    config.major = major;
    config.minor = minor;
    const auto at_least = [major, minor](uint32_t ma, uint32_t mi) {
      return major > ma || (major == ma && minor >= mi);
    };
    config.drm_dev_unplug_unmaps = at_least(5, 14);
    config.gnttab_deferred_end_holds_page = at_least(5, 17);
    return config;
  }
};

}  // namespace xfsim::fakes
