/* SPDX-License-Identifier: MIT */
#include "mic.h"

void qubes_mic_init(struct qubes_mic *m, const struct qubes_mic_ops *ops, void *data)
{
	m->st = (struct qubes_mic_state){ 0 };
	m->ops = ops;
	m->data = data;
}

int qubes_mic_update(struct qubes_mic *m, const char *why)
{
	bool want = m->st.requested && m->st.allowed;
	int ret = 0;
	if (want != m->st.flowing) {
		ret = m->ops->set_flow(m->data, want);
		if (ret == 0 || !want)
			m->st.flowing = want;
	}
	m->ops->changed(m->data, &m->st, why);
	return ret;
}

int qubes_mic_set_requested(struct qubes_mic *m, bool requested)
{
	if (m->st.requested == requested && m->st.flowing == (requested && m->st.allowed))
		return 0;
	m->st.requested = requested;
	return qubes_mic_update(m, requested ? "vm-request" : "vm-stop");
}

int qubes_mic_set_allowed(struct qubes_mic *m, bool allowed, const char *source)
{
	if (m->st.allowed == allowed && m->st.flowing == (allowed && m->st.requested))
		return 0;
	m->st.allowed = allowed;
	return qubes_mic_update(m, source);
}
