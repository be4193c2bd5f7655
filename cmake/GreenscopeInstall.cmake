# Installs the CMake package: find_package(greenscope CONFIG REQUIRED) then
# target_link_libraries(app PRIVATE greenscope::runtime).
include(CMakePackageConfigHelpers)
set(GS_CONFIG_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/greenscope)
install(EXPORT greenscopeTargets NAMESPACE greenscope:: DESTINATION ${GS_CONFIG_DIR})
configure_package_config_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/greenscopeConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/greenscopeConfig.cmake INSTALL_DESTINATION ${GS_CONFIG_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/greenscopeConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/greenscopeConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/greenscopeConfigVersion.cmake DESTINATION ${GS_CONFIG_DIR})
