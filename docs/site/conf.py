# Sphinx configuration of the collection's documentation site, built by docs/site/build
# from the plugins' own documentation (antsibull-docs).

project = 'cloudops.multicloud'
copyright = 'cloudops.multicloud contributors'
title = 'cloudops.multicloud'
html_short_title = 'cloudops.multicloud'

extensions = ['sphinx.ext.intersphinx', 'sphinx_antsibull_ext']
pygments_style = 'ansible'
highlight_language = 'YAML+Jinja'
html_theme = 'sphinx_ansible_theme'
html_show_sphinx = False
display_version = False
html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False

# The site builds offline: Ansible's own docs are not fetched, so the labels of theirs that
# antsibull-docs' pages link to (common return values, configuration settings, Ansible's own
# environment variables) stay unresolved.
intersphinx_mapping = {}
suppress_warnings = ['ref.ref', 'ref.envvar']
default_role = 'any'
nitpicky = True
