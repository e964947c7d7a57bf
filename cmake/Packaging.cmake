# Install layout and the Debian package (CPack DEB). Included from the top CMakeLists.txt after
# every target is defined. `cmake --install` uses CMAKE_INSTALL_PREFIX; the .deb is built with
# prefix /usr, so its files land in /usr/bin, /usr/share/socialai, /usr/lib/systemd/system and
# /etc/socialai (absolute: a conffile).
include(GNUInstallDirs)

# Binaries. Workers not written yet have no target; the manager finds installed workers beside
# its own executable, so they all go to bin/, with socialai-ctl.
set(_socialai_programs socialai-manager socialai-ctl)
foreach(_w farcaster reddit ethereum base solana ai search)
  list(APPEND _socialai_programs socialai-worker-${_w})
endforeach()
foreach(_t IN LISTS _socialai_programs)
  if(TARGET ${_t})
    install(TARGETS ${_t} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
endforeach()
# Development only, so not in the .deb (which installs the default components): the devnet
# simulators and the configuration that points every worker at them.
#   cmake --install build --component devnet
install(TARGETS socialai-devnet RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  COMPONENT devnet EXCLUDE_FROM_ALL)
install(FILES ${PROJECT_SOURCE_DIR}/config/dev.json
  DESTINATION ${CMAKE_INSTALL_DATADIR}/socialai/config COMPONENT devnet EXCLUDE_FROM_ALL)

# Migrations (also embedded in the binaries; shipped for operators who apply them by hand),
# the configuration template, the unit file and the README the unit's Documentation= points to.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/sql/ DESTINATION ${CMAKE_INSTALL_DATADIR}/socialai/sql
  FILES_MATCHING PATTERN "*.sql")
install(FILES ${PROJECT_SOURCE_DIR}/config/socialai.json
  DESTINATION ${CMAKE_INSTALL_DATADIR}/socialai/config)
# Files under /etc, conffiles in the .deb: the configuration, the environment template (mode
# 0600: it is where the secrets go) and the logrotate snippet. Decided at install time: prefix
# /usr means /etc (as GNUInstallDirs does), another prefix <prefix>/etc; and straight onto a
# live system (no DESTDIR; CPack always stages with one) an existing file is kept, so
# `cmake --install` never overwrites an operator's edits.
function(socialai_install_etc source subdir)
  cmake_parse_arguments(ARG "" "" "PERMISSIONS" ${ARGN})
  get_filename_component(_name ${source} NAME)
  set(_perms OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  if(ARG_PERMISSIONS)
    set(_perms ${ARG_PERMISSIONS})
  endif()
  install(CODE "
    if(CMAKE_INSTALL_PREFIX STREQUAL \"/usr\")
      set(_etc /etc/${subdir})
    else()
      set(_etc \"\${CMAKE_INSTALL_PREFIX}/etc/${subdir}\")
    endif()
    if(\"\$ENV{DESTDIR}\" STREQUAL \"\" AND EXISTS \"\${_etc}/${_name}\")
      message(STATUS \"Keeping: \${_etc}/${_name}\")
    else()
      file(INSTALL DESTINATION \"\${_etc}\" TYPE FILE PERMISSIONS ${_perms}
        FILES \"${source}\")
    endif()")
endfunction()
socialai_install_etc(${PROJECT_SOURCE_DIR}/config/socialai.json socialai)
socialai_install_etc(${PROJECT_SOURCE_DIR}/packaging/etc/socialai/env socialai
  PERMISSIONS OWNER_READ OWNER_WRITE)
socialai_install_etc(${PROJECT_SOURCE_DIR}/packaging/etc/logrotate.d/socialai logrotate.d)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/systemd/socialai.service
  DESTINATION lib/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
# Example Prometheus alerting rules (docs/operations.md, "Metrics").
install(FILES ${PROJECT_SOURCE_DIR}/packaging/prometheus/socialai-alerts.yml
  DESTINATION ${CMAKE_INSTALL_DOCDIR})

# --- CPack: one binary package "socialai" --------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME socialai)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR socialai)
set(CPACK_PACKAGE_CONTACT "socialai maintainers <socialai@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "socialai workers and their supervisor")
set(CPACK_PACKAGE_DESCRIPTION
  "socialai-manager supervises the socialai worker processes (Farcaster, Reddit, Ethereum,\n\
BASE, Solana, AI, search): it spawns them, aggregates their logs, restarts crashed ones\n\
(Healdec) and serves a status API and admin console. Runs under systemd (Type=notify).")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # socialai_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "postgresql-15, postgresql-contrib")

# Shared-library dependencies come from dpkg-shlibdeps (dpkg-dev) when it is there; CPack
# appends them to CPACK_DEBIAN_PACKAGE_DEPENDS. Without it, the Debian 12 names by hand.
# adduser is for the postinst.
find_program(SOCIALAI_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(SOCIALAI_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
else()
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF)
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, libpqxx-6.4, libcurl4, libspdlog1.10, libfmt9, \
libboost-filesystem1.81.0, libsystemd0, libstdc++6, libgcc-s1, libc6")
endif()

# Maintainer scripts: account and log directory, the move from socialai-manager.service
# (postinst), stop before removal (prerm), daemon-reload and purge (postrm); conffiles lists
# the three files under /etc.
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles
  ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
  ${PROJECT_SOURCE_DIR}/packaging/debian/prerm
  ${PROJECT_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
